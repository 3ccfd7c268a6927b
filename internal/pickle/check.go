package pickle

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
)

// argKind is the shape of an opcode's argument, as in Python's pickletools.
type argKind uint8

const (
	argNone    argKind = iota
	argFixed           // n bytes
	argCounted         // an n-byte little-endian length, then that many bytes
	argLines           // n newline-terminated lines
)

// stackKind is what an opcode does to the stack, beyond popping pop and
// pushing push objects above the topmost mark.
type stackKind uint8

const (
	stackPlain   stackKind = iota
	stackInPlace           // the deepest popped object is modified and pushed back (APPEND, BUILD)
	stackMark              // pushes a mark (MARK)
	stackItems             // pops a mark and the objects above it, then pushes push (TUPLE, DICT)
	stackAddTo             // pops a mark and the items above it into the object below, which it pushes back (APPENDS)
	stackDup               // pushes the top again (DUP)
	stackPut               // stores the top in the memo (PUT, MEMOIZE)
	stackGet               // pushes a memo entry (GET)
	stackProto             // PROTO: only first, version at most 5
	stackFrame             // FRAME: a length of opcodes that follow
	stackStop              // STOP
)

// opcode describes one opcode of protocols 0 to 5.
type opcode struct {
	name  string
	arg   argKind
	n     int // bytes of a fixed argument or of a length; lines
	pop   int
	push  int
	stack stackKind
	pairs bool // stackItems, stackAddTo: the items are key, value pairs
	empty bool // pushes an empty container, one deep
}

var opcodes = map[byte]opcode{
	'(':  {name: "MARK", stack: stackMark},
	'.':  {name: "STOP", pop: 1, stack: stackStop},
	'0':  {name: "POP", pop: 1},
	'1':  {name: "POP_MARK", stack: stackItems},
	'2':  {name: "DUP", pop: 1, stack: stackDup},
	'F':  {name: "FLOAT", arg: argLines, n: 1, push: 1},
	'I':  {name: "INT", arg: argLines, n: 1, push: 1},
	'J':  {name: "BININT", arg: argFixed, n: 4, push: 1},
	'K':  {name: "BININT1", arg: argFixed, n: 1, push: 1},
	'L':  {name: "LONG", arg: argLines, n: 1, push: 1},
	'M':  {name: "BININT2", arg: argFixed, n: 2, push: 1},
	'N':  {name: "NONE", push: 1},
	'P':  {name: "PERSID", arg: argLines, n: 1, push: 1},
	'Q':  {name: "BINPERSID", pop: 1, push: 1},
	'R':  {name: "REDUCE", pop: 2, push: 1},
	'S':  {name: "STRING", arg: argLines, n: 1, push: 1},
	'T':  {name: "BINSTRING", arg: argCounted, n: 4, push: 1},
	'U':  {name: "SHORT_BINSTRING", arg: argCounted, n: 1, push: 1},
	'V':  {name: "UNICODE", arg: argLines, n: 1, push: 1},
	'X':  {name: "BINUNICODE", arg: argCounted, n: 4, push: 1},
	'a':  {name: "APPEND", pop: 2, push: 1, stack: stackInPlace},
	'b':  {name: "BUILD", pop: 2, push: 1, stack: stackInPlace},
	'c':  {name: "GLOBAL", arg: argLines, n: 2, push: 1},
	'd':  {name: "DICT", push: 1, stack: stackItems, pairs: true},
	'}':  {name: "EMPTY_DICT", push: 1, empty: true},
	'e':  {name: "APPENDS", push: 1, stack: stackAddTo},
	'g':  {name: "GET", arg: argLines, n: 1, stack: stackGet},
	'h':  {name: "BINGET", arg: argFixed, n: 1, stack: stackGet},
	'i':  {name: "INST", arg: argLines, n: 2, push: 1, stack: stackItems},
	'j':  {name: "LONG_BINGET", arg: argFixed, n: 4, stack: stackGet},
	'l':  {name: "LIST", push: 1, stack: stackItems},
	']':  {name: "EMPTY_LIST", push: 1, empty: true},
	'o':  {name: "OBJ", push: 1, stack: stackItems},
	'p':  {name: "PUT", arg: argLines, n: 1, stack: stackPut},
	'q':  {name: "BINPUT", arg: argFixed, n: 1, stack: stackPut},
	'r':  {name: "LONG_BINPUT", arg: argFixed, n: 4, stack: stackPut},
	's':  {name: "SETITEM", pop: 3, push: 1, stack: stackInPlace},
	't':  {name: "TUPLE", push: 1, stack: stackItems},
	')':  {name: "EMPTY_TUPLE", push: 1, empty: true},
	'u':  {name: "SETITEMS", push: 1, stack: stackAddTo, pairs: true},
	'G':  {name: "BINFLOAT", arg: argFixed, n: 8, push: 1},
	0x80: {name: "PROTO", arg: argFixed, n: 1, stack: stackProto},
	0x81: {name: "NEWOBJ", pop: 2, push: 1},
	0x82: {name: "EXT1", arg: argFixed, n: 1, push: 1},
	0x83: {name: "EXT2", arg: argFixed, n: 2, push: 1},
	0x84: {name: "EXT4", arg: argFixed, n: 4, push: 1},
	0x85: {name: "TUPLE1", pop: 1, push: 1},
	0x86: {name: "TUPLE2", pop: 2, push: 1},
	0x87: {name: "TUPLE3", pop: 3, push: 1},
	0x88: {name: "NEWTRUE", push: 1},
	0x89: {name: "NEWFALSE", push: 1},
	0x8a: {name: "LONG1", arg: argCounted, n: 1, push: 1},
	0x8b: {name: "LONG4", arg: argCounted, n: 4, push: 1},
	'B':  {name: "BINBYTES", arg: argCounted, n: 4, push: 1},
	'C':  {name: "SHORT_BINBYTES", arg: argCounted, n: 1, push: 1},
	0x8c: {name: "SHORT_BINUNICODE", arg: argCounted, n: 1, push: 1},
	0x8d: {name: "BINUNICODE8", arg: argCounted, n: 8, push: 1},
	0x8e: {name: "BINBYTES8", arg: argCounted, n: 8, push: 1},
	0x8f: {name: "EMPTY_SET", push: 1, empty: true},
	0x90: {name: "ADDITEMS", push: 1, stack: stackAddTo},
	0x91: {name: "FROZENSET", push: 1, stack: stackItems},
	0x92: {name: "NEWOBJ_EX", pop: 3, push: 1},
	0x93: {name: "STACK_GLOBAL", pop: 2, push: 1},
	0x94: {name: "MEMOIZE", stack: stackPut},
	0x95: {name: "FRAME", arg: argFixed, n: 8, stack: stackFrame},
	0x96: {name: "BYTEARRAY8", arg: argCounted, n: 8, push: 1},
	0x97: {name: "NEXT_BUFFER", push: 1},
	0x98: {name: "READONLY_BUFFER", pop: 1, push: 1},
}

// Check proves that b is exactly one well-formed pickle of at most
// MaxBytes: every opcode known, every argument inside b, the stack never
// popped below a mark or empty, memo entries stored before use,
// containers nested at most MaxDepth deep, and STOP, with one object and
// no mark on the stack, as the very last byte.
//
// The stack is simulated with the nesting depth of each object in place
// of the object: a container is one deeper than its deepest item.
func Check(b []byte) error { return check(b, MaxBytes) }

// check is Check with a size limit of maxBytes.
func check(b []byte, maxBytes int) error {
	if len(b) > maxBytes {
		return fmt.Errorf("pickle: %d bytes, more than the %d expected", len(b), maxBytes)
	}
	var (
		stack []int       // depth of each object
		marks []int       // len(stack) at each mark
		memo  map[int]int // depth of each memo entry
	)
	for pos := 0; pos < len(b); {
		c := b[pos]
		op, ok := opcodes[c]
		if !ok {
			return fmt.Errorf("pickle: unknown opcode 0x%02x at byte %d", c, pos)
		}
		at := pos
		fail := func(format string, args ...any) error {
			return fmt.Errorf("pickle: opcode %s at byte %d: "+format, append([]any{op.name, at}, args...)...)
		}
		pos++
		arg, err := argument(b, &pos, op)
		if err != nil {
			return fail("%v", err)
		}

		// The objects op may touch lie above the topmost mark.
		base := 0
		if len(marks) > 0 {
			base = marks[len(marks)-1]
		}
		if len(stack)-base < op.pop {
			return fail("needs %d objects above the last mark, the stack holds %d (corrupt file?)", op.pop, len(stack)-base)
		}
		popped := stack[len(stack)-op.pop:]
		stack = stack[:len(stack)-op.pop]
		depth := 0
		switch op.stack {
		case stackPlain:
			if op.pop > 0 || op.empty {
				depth = 1 + maxOf(popped)
			}
		case stackInPlace:
			depth = max(popped[0], 1+maxOf(popped[1:]))
		case stackMark:
			marks = append(marks, len(stack))
		case stackItems, stackAddTo:
			if len(marks) == 0 {
				return fail("no MARK before it (corrupt file?)")
			}
			items := stack[base:]
			stack = stack[:base]
			marks = marks[:len(marks)-1]
			if op.pairs && len(items)%2 != 0 {
				return fail("%d items after the mark, want key, value pairs", len(items))
			}
			if op.name == "OBJ" && len(items) == 0 {
				return fail("no class after the mark")
			}
			depth = 1 + maxOf(items)
			if op.stack == stackAddTo {
				below := 0
				if len(marks) > 0 {
					below = marks[len(marks)-1]
				}
				if len(stack) == below {
					return fail("no container below the mark (corrupt file?)")
				}
				depth = max(stack[len(stack)-1], depth)
				stack = stack[:len(stack)-1]
			}
		case stackDup:
			stack = append(stack, popped[0], popped[0])
		case stackPut:
			if len(stack) == base {
				return fail("nothing to store above the last mark")
			}
			if memo == nil {
				memo = map[int]int{}
			}
			key := len(memo) // MEMOIZE
			if op.arg != argNone {
				if key, err = memoKey(arg, op); err != nil {
					return fail("%v", err)
				}
			}
			memo[key] = stack[len(stack)-1]
		case stackGet:
			key, err := memoKey(arg, op)
			if err != nil {
				return fail("%v", err)
			}
			d, ok := memo[key]
			if !ok {
				return fail("memo entry %d was never stored (corrupt file?)", key)
			}
			stack = append(stack, d)
		case stackProto:
			if at != 0 || arg[0] > 5 {
				return fail("protocol %d, want a version of 0 to 5 as the first opcode", arg[0])
			}
		case stackFrame:
			if n := binary.LittleEndian.Uint64(arg); n > uint64(len(b)-pos) {
				return fail("frame of %d bytes, %d are left (truncated file?)", n, len(b)-pos)
			}
		case stackStop:
			if len(stack) != 0 || len(marks) != 0 {
				return fail("%d objects and %d marks left besides the result, want none", len(stack), len(marks))
			}
			if pos != len(b) {
				return fmt.Errorf("pickle: %d bytes after STOP at byte %d", len(b)-pos, at)
			}
			return nil
		}
		if op.push == 1 {
			if depth > MaxDepth {
				return fail("containers nest more than %d deep", MaxDepth)
			}
			stack = append(stack, depth)
		}
	}
	return fmt.Errorf("pickle: no STOP opcode after %d bytes (truncated file?)", len(b))
}

// argument returns the argument of op starting at b[*pos] and moves *pos
// past it.
func argument(b []byte, pos *int, op opcode) ([]byte, error) {
	start := *pos
	left := len(b) - start
	switch op.arg {
	case argFixed:
		if left < op.n {
			return nil, fmt.Errorf("%d-byte argument, %d are left (truncated file?)", op.n, left)
		}
		*pos += op.n
	case argCounted:
		if left < op.n {
			return nil, fmt.Errorf("%d-byte length, %d are left (truncated file?)", op.n, left)
		}
		var n uint64
		for i := op.n - 1; i >= 0; i-- {
			n = n<<8 | uint64(b[start+i])
		}
		if n > uint64(left-op.n) {
			return nil, fmt.Errorf("claims %d bytes, %d are left (truncated file?)", n, left-op.n)
		}
		*pos += op.n + int(n)
	case argLines:
		for range op.n {
			nl := bytes.IndexByte(b[*pos:], '\n')
			if nl < 0 {
				return nil, fmt.Errorf("unterminated line (truncated file?)")
			}
			*pos += nl + 1
		}
	}
	return b[start:*pos], nil
}

// memoKey decodes the memo index of a PUT or GET argument: a decimal
// line, one byte, or four little-endian bytes.
func memoKey(arg []byte, op opcode) (int, error) {
	switch op.arg {
	case argLines:
		k, err := strconv.ParseUint(string(arg[:len(arg)-1]), 10, 31)
		if err != nil {
			return 0, fmt.Errorf("memo index %q, want a decimal number", arg[:len(arg)-1])
		}
		return int(k), nil
	case argFixed:
		if op.n == 1 {
			return int(arg[0]), nil
		}
		return int(binary.LittleEndian.Uint32(arg)), nil
	}
	return 0, nil
}

func maxOf(depths []int) int {
	m := 0
	for _, d := range depths {
		m = max(m, d)
	}
	return m
}
