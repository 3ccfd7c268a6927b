package dist

import (
	"fmt"
	"strconv"
	"strings"
)

// maxHosts bounds what ExpandHostlist produces, so a malformed expression
// such as n[0-999999999] fails with an error instead of exhausting memory.
const maxHosts = 1 << 20

// ExpandHostlist expands a Slurm hostlist expression into host names, in
// the order `scontrol show hostnames` prints them.
//
// Items are separated by commas or white space outside brackets. An item
// is literal text with any number of bracket groups; a group holds a
// comma-separated list of numbers and ranges lo-hi. Every number of a
// group is printed with at least as many digits as its lower bound is
// written with (n[08-10] gives n08 n09 n10), and several groups form a
// cartesian product whose left-most group varies slowest
// (rack[1-2]-n[1-2] gives rack1-n1 rack1-n2 rack2-n1 rack2-n2).
func ExpandHostlist(expr string) ([]string, error) {
	hosts, err := expandHostlist(expr)
	if err != nil {
		return nil, fmt.Errorf("dist: hostlist %q: %w", expr, err)
	}
	return hosts, nil
}

// expandHostlist is ExpandHostlist with errors that do not repeat expr, for
// callers that name the variable expr came from.
func expandHostlist(expr string) ([]string, error) {
	var hosts []string
	for _, item := range splitHostlist(expr) {
		expanded, err := expandItem(item, maxHosts-len(hosts))
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, expanded...)
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("no hosts")
	}
	return hosts, nil
}

// splitHostlist cuts expr at commas and white space that are not inside
// brackets; bracket balance is checked later, per item.
func splitHostlist(expr string) []string {
	var items []string
	depth, start := 0, 0
	for i, c := range expr {
		switch {
		case c == '[':
			depth++
		case c == ']':
			depth--
		case depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n'):
			if i > start {
				items = append(items, expr[start:i])
			}
			start = i + 1
		}
	}
	if start < len(expr) {
		items = append(items, expr[start:])
	}
	return items
}

// expandItem expands one item (text with bracket groups), refusing to
// produce more than limit names.
func expandItem(item string, limit int) ([]string, error) {
	names := []string{""}
	for len(item) > 0 {
		open := strings.IndexAny(item, "[]")
		if open < 0 {
			names = appendToAll(names, []string{item})
			break
		}
		if item[open] == ']' {
			return nil, fmt.Errorf("%q: ']' without '['", item)
		}
		end := strings.IndexAny(item[open+1:], "[]")
		if end < 0 || item[open+1+end] == '[' {
			return nil, fmt.Errorf("%q: '[' without matching ']'", item)
		}
		end += open + 1
		group, err := expandGroup(item[open+1:end], limit)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", item, err)
		}
		if len(names)*len(group) > limit {
			return nil, fmt.Errorf("%q: more than %d hosts", item, maxHosts)
		}
		names = appendToAll(names, []string{item[:open]})
		names = appendToAll(names, group)
		item = item[end+1:]
	}
	return names, nil
}

// appendToAll returns every name followed by every suffix, names varying
// slowest.
func appendToAll(names, suffixes []string) []string {
	out := make([]string, 0, len(names)*len(suffixes))
	for _, n := range names {
		for _, s := range suffixes {
			out = append(out, n+s)
		}
	}
	return out
}

// expandGroup expands the inside of one bracket group, e.g. "01-04,07",
// into at most limit numbers, counted before any is written out.
func expandGroup(group string, limit int) ([]string, error) {
	type span struct {
		width, lo, hi int
	}
	var spans []span
	total := 0
	for _, r := range strings.Split(group, ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		if !isRange {
			hi = lo
		}
		a, err := hostNumber(lo)
		if err != nil {
			return nil, err
		}
		b, err := hostNumber(hi)
		if err != nil {
			return nil, err
		}
		if b < a {
			return nil, fmt.Errorf("range %q runs backwards", r)
		}
		if total += b - a + 1; total > limit || total < 0 {
			return nil, fmt.Errorf("[%s] has more than %d hosts", group, maxHosts)
		}
		spans = append(spans, span{len(lo), a, b})
	}
	out := make([]string, 0, total)
	for _, s := range spans {
		for v := s.lo; v <= s.hi; v++ {
			out = append(out, fmt.Sprintf("%0*d", s.width, v))
		}
	}
	return out, nil
}

// hostNumber parses one bound of a bracket range: plain decimal digits.
func hostNumber(s string) (int, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q in brackets is not a number or range lo-hi", s)
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q in brackets is too large", s)
	}
	return v, nil
}

// expandTasksPerNode expands Slurm's run-length encoded task counts, e.g.
// "2(x3),1" gives [2 2 2 1].
func expandTasksPerNode(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		count, repeat := part, "1"
		if i := strings.Index(part, "(x"); i >= 0 && strings.HasSuffix(part, ")") {
			count, repeat = part[:i], part[i+2:len(part)-1]
		}
		c, err1 := strconv.Atoi(count)
		r, err2 := strconv.Atoi(repeat)
		if err1 != nil || err2 != nil || c < 1 || r < 1 || len(out)+r > maxHosts {
			return nil, fmt.Errorf("%q is not a task count list like 2(x3),1", s)
		}
		for range r {
			out = append(out, c)
		}
	}
	return out, nil
}
