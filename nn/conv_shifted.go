package nn

import "github.com/glmc/glmc/asm"

// The direct convolution behind grouped convolution (and the dense passes
// that planConv gives it): products of asm.SgemmShifted, whose B rows are
// windows of a buffer that holds the input with its padding, so that no
// im2col matrix is built or packed.
//
// A tensor (N, C, H, W) is laid out for it as st² phase planes per channel
// (st is the stride: phase (a, b) holds x[st·r + a][st·c + b] at (r, c);
// one plane for stride 1). Each plane is a column space of N images of
// R rows of pitch P: element (r, c) of image n's phase sits at
// q(n, r + ro, c + co) = n·R·P + (r + ro)·P + c + co, with zeros around
// it. An output pixel (oy, ox) of image n is column q(n, oy, ox), and
// kernel tap (i, j), with i − pad = st·dy + a and j − pad = st·dx + b,
// reads phase (a, b) at column q(n, oy, ox) + (dy + ro)·P + dx + co: the
// same shift for every pixel, so the tap's row of the im2col matrix is the
// plane shifted by a constant. R and P leave enough zero rows and columns
// that the shifted reads of real pixels see zeros wherever they leave the
// image; columns with ox ≥ OW or rows with oy ≥ OH are computed too and
// dropped when the result is copied out.

// shiftedSrc is the layout of a source tensor for shifted windows.
type shiftedSrc struct {
	n, c, h, w  int // source tensor (N, C, H, W)
	st          int // phases per axis
	ro, co      int // rows and columns of zeros before a phase's data
	rows, pitch int // R and P
	plane       int // floats per plane: cols(), then zeros for the largest shift
}

// newShiftedSrc lays out (n, c, h, w) with st² phases for outputs of
// outH×outW pixels read at row shifts dy[0]..dy[1] and column shifts
// dx[0]..dx[1] (in phase rows and columns).
func newShiftedSrc(n, c, h, w, st, outH, outW int, dy, dx [2]int) shiftedSrc {
	l := shiftedSrc{n: n, c: c, h: h, w: w, st: st, ro: max(0, -dy[0]), co: max(0, -dx[0])}
	// A real pixel must not read the next row's or image's data: outH − 1
	// + dy[1] < R; and the phase's data must fit before the next image.
	l.rows = max(outH, outH+dy[1], l.ro+(h+st-1)/st)
	l.pitch = max(outW, outW+dx[1], l.co+(w+st-1)/st)
	l.plane = l.cols() + (dy[1]+l.ro)*l.pitch + dx[1] + l.co
	return l
}

// shiftedAlign is a multiple of the widest column tile of SgemmShifted
// and of the lanes of SgemmShiftedGrad: column spaces are rounded up to
// it so that the kernels never leave a tail to the scalar code.
const shiftedAlign = 48

// cols is the number of columns of the column space, N·R·P rounded up to
// shiftedAlign; those past N·R·P are dropped.
func (l shiftedSrc) cols() int {
	return (l.n*l.rows*l.pitch + shiftedAlign - 1) / shiftedAlign * shiftedAlign
}

// images returns l for its first n ≤ l.n images: fewer columns on the
// same planes and offsets, so that the last, shorter block of a batch
// runs on the layout of the others.
func (l shiftedSrc) images(n int) shiftedSrc {
	l.n = n
	return l
}

// groupPlanes is the number of planes of c channels: c·st².
func (l shiftedSrc) groupPlanes(c int) int { return c * l.st * l.st }

// offset is the position in the buffer of the window of channel c's phase
// (a, b) shifted by (dy, dx).
func (l shiftedSrc) offset(c, a, b, dy, dx int) int {
	return ((c*l.st+a)*l.st+b)*l.plane + (dy+l.ro)*l.pitch + dx + l.co
}

// fill writes the planes of channels [c0, c0+nc) of x (N, C, H, W) into
// buf, zeros included, as nc·st² planes: each plane is cleared in one go,
// then the image rows are copied in (maps are narrow, so the per-row work
// is kept to a loop).
func (l shiftedSrc) fill(buf, x []float32, c0, nc int) {
	st, hw := l.st, l.h*l.w
	pw := (l.w + st - 1) / st
	clear(buf[:nc*st*st*l.plane])
	for c := range nc {
		for a := range st {
			base := (c*st + a) * st * l.plane
			for n := range l.n {
				plane := x[(n*l.c+c0+c)*hw : (n*l.c+c0+c+1)*hw]
				for r := l.ro; r < l.rows; r++ {
					y := st*(r-l.ro) + a
					if y >= l.h {
						break
					}
					at := base + (n*l.rows+r)*l.pitch + l.co
					src := plane[y*l.w : (y+1)*l.w]
					switch st {
					case 1:
						copyShort(buf[at:at+l.w], src)
					case 2:
						asm.Deinterleave(buf[at:at+(l.w+1)/2], buf[at+l.plane:at+l.plane+l.w/2], src)
					default:
						for b := range st {
							copyStrided(buf[at+b*l.plane:at+b*l.plane+pw], src[min(b, len(src)):], st)
						}
					}
				}
			}
		}
	}
}

// copyShort is copy(dst, src) for equal lengths, with a plain loop for the
// short rows of small maps, where a call of memmove costs more than the
// copy.
func copyShort(dst, src []float32) {
	if len(src) >= 16 {
		copy(dst, src)
		return
	}
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = v
	}
}

// copyStrided sets dst[i] = src[st·i] for as many i as both allow and
// returns their number.
func copyStrided(dst, src []float32, st int) int {
	n := min(len(dst), (len(src)+st-1)/st)
	for i := range n {
		dst[i] = src[st*i]
	}
	return n
}

// shiftedCols is the number of columns of one SgemmShifted call: a block
// of C (up to 32 rows) and the windows it reads stay in the L2 cache.
// The blocks depend on the shape only, so the results do not depend on
// the number of threads.
const shiftedCols = 1152

// shiftedOut says where the columns of a column space land in an output
// tensor (N, C, H, W) of st² phases: row r, column c of image n, phase
// (a, b) is element (st·r + a, st·c + b), where that lies in the map;
// the others are dropped.
type shiftedOut struct {
	l       shiftedSrc // the column space
	c, h, w int        // the output's channels and map
	st      int        // phases per axis
}

// store copies the columns [q0, q0 + len(src[0])) of the column space of
// image block n0, phase (a, b) from src[a·st + b], into channel ch of out,
// plus bias. It writes whole output rows at once: the phases of a row are
// interleaved as they are stored.
func (o shiftedOut) store(out []float32, n0, ch int, q0 int, src [][]float32, bias float32) {
	p, hw, st := o.l.pitch, o.h*o.w, o.st
	n, r, c := q0/(o.l.rows*p), q0/p%o.l.rows, q0%p
	for i := 0; i < len(src[0]) && n < o.l.n; {
		seg := min(p-c, len(src[0])-i)
		plane := out[((n0+n)*o.c+ch)*hw : ((n0+n)*o.c+ch+1)*hw]
		for a := 0; a < st && st*r+a < o.h; a++ {
			row := plane[(st*r+a)*o.w : (st*r+a+1)*o.w]
			// run is the length of the columns [c, c + seg) of phase b
			// that lie in the map.
			run := func(b int) int { return max(0, min(seg, (o.w-b+st-1)/st-c)) }
			var dst []float32
			switch st {
			case 1:
				dst = row[c : c+run(0)]
				copyShort(dst, src[0][i:i+len(dst)])
			case 2:
				even, odd := run(0), run(1)
				dst = row[2*c : 2*c+even+odd]
				asm.Interleave(dst, src[2*a][i:i+even], src[2*a+1][i:i+odd])
			default:
				dst = row[st*c:]
				for b := range st {
					for j, v := range src[a*st+b][i : i+run(b)] {
						dst[st*j+b] = v
					}
				}
				dst = nil // the bias is for the forward pass (st = 1)
			}
			if bias != 0 {
				addConst(dst, bias)
			}
		}
		i += seg
		c = 0
		if r++; r == o.l.rows {
			r, n = 0, n+1
		}
	}
}

// shiftedProduct is one product of shiftedProducts: A (m × len(off), row
// stride lda) and the window offsets.
type shiftedProduct struct {
	a   []float32
	lda int
	off []int
}

// shiftedProducts computes the products C_i (m × cols) = A_i · the windows
// of buf at the offsets of ps[i], cols = o.l.cols(), a column block at a
// time, and stores row r of each block of every C_i into channel ch0 + r
// of out (image block n0) through o, plus bias[r] (bias nil for none).
func shiftedProducts(m int, ps []shiftedProduct, buf []float32, o shiftedOut, out []float32, n0, ch0 int, bias []float32) {
	c := getScratch(len(ps) * m * shiftedCols)
	defer putScratch(c)
	var rowsOf [4][]float32 // the phases of stride 2 without a heap allocation
	rows := rowsOf[:0]
	if len(ps) > len(rowsOf) {
		rows = make([][]float32, 0, len(ps))
	}
	rows = rows[:len(ps)]
	for q0 := 0; q0 < o.l.cols(); q0 += shiftedCols {
		width := min(shiftedCols, o.l.cols()-q0)
		for i, p := range ps {
			asm.SgemmShifted(m, width, p.a, p.lda, buf[q0:], p.off, c.buf[i*m*width:], width)
		}
		for r := range m {
			for i := range ps {
				rows[i] = c.buf[(i*m+r)*width : (i*m+r+1)*width]
			}
			var b float32
			if bias != nil {
				b = bias[r]
			}
			o.store(out, n0, ch0+r, q0, rows, b)
		}
	}
}
