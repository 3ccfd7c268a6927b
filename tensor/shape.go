package tensor

import (
	"fmt"
	"slices"

	"github.com/glmc/glmc/asm"
)

// Permute returns a copy of t with its dimensions reordered: dimension i of
// the result is dimension perm[i] of t (torch.permute).
func Permute(t *Tensor, perm ...int) *Tensor {
	if len(perm) != t.Dim() {
		panic(fmt.Sprintf("tensor: Permute: %d axes for %d dimensions", len(perm), t.Dim()))
	}
	seen := make([]bool, t.Dim())
	shape := make([]int, t.Dim())
	src := stridesOf(t.Shape)
	strides := make([]int, t.Dim())
	for i, p := range perm {
		p = normAxis("Permute", p, t.Dim())
		if seen[p] {
			panic(fmt.Sprintf("tensor: Permute: %v is not a permutation", perm))
		}
		seen[p] = true
		shape[i], strides[i] = t.Shape[p], src[p]
	}
	out := New(shape...)
	w := newWalk(shape, stridesOf(shape), strides)
	n, step := w.n(), w.step(1)
	w.each(func(off []int) {
		dst, j := out.Data[off[0]:off[0]+n], off[1]
		for i := range dst {
			dst[i] = t.Data[j]
			j += step
		}
	})
	return out
}

// InversePerm returns the permutation that undoes perm.
func InversePerm(perm []int) []int {
	inv := make([]int, len(perm))
	for i, p := range perm {
		inv[normAxis("InversePerm", p, len(perm))] = i
	}
	return inv
}

// Transpose returns a copy of t with dimensions a and b swapped.
func Transpose(t *Tensor, a, b int) *Tensor {
	return Permute(t, swapPerm(t.Dim(), normAxis("Transpose", a, t.Dim()), normAxis("Transpose", b, t.Dim()))...)
}

func swapPerm(dim, a, b int) []int {
	perm := make([]int, dim)
	for i := range perm {
		perm[i] = i
	}
	perm[a], perm[b] = b, a
	return perm
}

// copyBox copies the box of extents size at srcAt in src into dst at dstAt.
// Offsets and extents are given per dimension; the box must fit both.
func copyBox(dst *Tensor, dstAt []int, src *Tensor, srcAt []int, size []int) {
	ds, ss := stridesOf(dst.Shape), stridesOf(src.Shape)
	d0, s0 := 0, 0
	for i := range size {
		d0 += dstAt[i] * ds[i]
		s0 += srcAt[i] * ss[i]
	}
	w := newWalk(size, ds, ss)
	n, dstep, sstep := w.n(), w.step(0), w.step(1)
	w.each(func(off []int) {
		if dstep == 1 && sstep == 1 {
			copy(dst.Data[d0+off[0]:d0+off[0]+n], src.Data[s0+off[1]:s0+off[1]+n])
			return
		}
		// The box is one wide in its last dimensions, so its inner run
		// strides through the outer ones.
		for i := range n {
			dst.Data[d0+off[0]+i*dstep] = src.Data[s0+off[1]+i*sstep]
		}
	})
}

// Crop returns a copy of the box of t that starts at index start and has
// extents size (one entry per dimension of t). It panics if the box does
// not fit.
func Crop(t *Tensor, start, size []int) *Tensor {
	if len(start) != t.Dim() || len(size) != t.Dim() {
		panic(fmt.Sprintf("tensor: Crop: start %v and size %v for shape %v", start, size, t.Shape))
	}
	for i, d := range t.Shape {
		if start[i] < 0 || size[i] < 0 || start[i]+size[i] > d {
			panic(fmt.Sprintf("tensor: Crop: box at %v of size %v does not fit %v", start, size, t.Shape))
		}
	}
	out := New(size...)
	copyBox(out, make([]int, t.Dim()), t, start, size)
	return out
}

// Narrow returns a copy of the elements start..start+length-1 of t along
// axis (torch.narrow, but not a view).
func Narrow(t *Tensor, axis, start, length int) *Tensor {
	axis = normAxis("Narrow", axis, t.Dim())
	if start < 0 || length < 0 || start+length > t.Shape[axis] {
		panic(fmt.Sprintf("tensor: Narrow: [%d, %d) out of range for axis %d of %v", start, start+length, axis, t.Shape))
	}
	at := make([]int, t.Dim())
	at[axis] = start
	size := slices.Clone(t.Shape)
	size[axis] = length
	return Crop(t, at, size)
}

// Pad returns t surrounded by zeros: pads[i] = {before, after} is the
// number of zeros added on each side of dimension i (one entry per
// dimension, in dimension order, unlike torch.nn.functional.pad).
func Pad(t *Tensor, pads [][2]int) *Tensor {
	if len(pads) != t.Dim() {
		panic(fmt.Sprintf("tensor: Pad: %d pads for %d dimensions", len(pads), t.Dim()))
	}
	shape := make([]int, t.Dim())
	at := make([]int, t.Dim())
	for i, p := range pads {
		if p[0] < 0 || p[1] < 0 {
			panic(fmt.Sprintf("tensor: Pad: negative padding %v", pads))
		}
		shape[i], at[i] = p[0]+t.Shape[i]+p[1], p[0]
	}
	out := New(shape...)
	copyBox(out, at, t, make([]int, t.Dim()), t.Shape)
	return out
}

// Concat joins tensors along axis; their other extents must agree.
func Concat(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor: Concat: no tensors")
	}
	axis = normAxis("Concat", axis, ts[0].Dim())
	shape := slices.Clone(ts[0].Shape)
	shape[axis] = 0
	for _, t := range ts {
		for i, d := range t.Shape {
			if t.Dim() != len(shape) || i != axis && d != shape[i] {
				panic(fmt.Sprintf("tensor: Concat: shape %v does not match %v along axis %d", t.Shape, ts[0].Shape, axis))
			}
		}
		shape[axis] += t.Shape[axis]
	}
	out := New(shape...)
	at := make([]int, len(shape))
	for _, t := range ts {
		copyBox(out, at, t, make([]int, len(shape)), t.Shape)
		at[axis] += t.Shape[axis]
	}
	return out
}

// Stack joins tensors of one shape along a new axis, which becomes
// dimension axis of the result (negative counts from the end of the result).
func Stack(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor: Stack: no tensors")
	}
	axis = normAxis("Stack", axis, ts[0].Dim()+1)
	us := make([]*Tensor, len(ts))
	for i, t := range ts {
		if !SameShape(t, ts[0]) {
			panic(fmt.Sprintf("tensor: Stack: shapes %v and %v differ", t.Shape, ts[0].Shape))
		}
		us[i] = t.Reshape(slices.Insert(slices.Clone(t.Shape), axis, 1)...)
	}
	return Concat(axis, us...)
}

// IndexSelect returns the entries idx[0], idx[1], ... of t along axis
// (torch.index_select); indices may repeat. It panics on an index out of
// range.
func IndexSelect(t *Tensor, axis int, idx []int) *Tensor {
	axis = normAxis("IndexSelect", axis, t.Dim())
	outer, n, inner := splitAt(t.Shape, axis)
	checkIndices("IndexSelect", idx, n)
	shape := slices.Clone(t.Shape)
	shape[axis] = len(idx)
	out := New(shape...)
	for o := range outer {
		for i, k := range idx {
			copy(out.Data[(o*len(idx)+i)*inner:][:inner], t.Data[(o*n+k)*inner:][:inner])
		}
	}
	return out
}

// IndexAdd adds the entries of src along axis into dst at positions idx:
// entry i of src goes to entry idx[i] of dst (torch.index_add_), in order,
// so repeated indices accumulate deterministically. It is the adjoint of
// IndexSelect.
func IndexAdd(dst *Tensor, axis int, idx []int, src *Tensor) {
	axis = normAxis("IndexAdd", axis, dst.Dim())
	outer, n, inner := splitAt(dst.Shape, axis)
	checkIndices("IndexAdd", idx, n)
	want := slices.Clone(dst.Shape)
	want[axis] = len(idx)
	if !slices.Equal(src.Shape, want) {
		panic(fmt.Sprintf("tensor: IndexAdd: source %v, want %v", src.Shape, want))
	}
	for o := range outer {
		for i, k := range idx {
			asm.Axpy(1, src.Data[(o*len(idx)+i)*inner:][:inner], dst.Data[(o*n+k)*inner:][:inner])
		}
	}
}

func checkIndices(op string, idx []int, n int) {
	for _, k := range idx {
		if k < 0 || k >= n {
			panic(fmt.Sprintf("tensor: %s: index %d out of range [0, %d)", op, k, n))
		}
	}
}
