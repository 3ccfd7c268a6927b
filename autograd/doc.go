// Package autograd is reverse-mode automatic differentiation over
// tensor.Tensor values.
//
// # Graph
//
// A Var holds a forward Value and, after a backward pass, the Grad of the
// output with respect to it. Leaves are made with Param (gradients wanted)
// and Const (no gradients). Every op (Add, MatMul, LogSoftmax, ...) returns a
// new Var; when at least one input requires gradients, the result records
// its inputs and a backward rule, so the graph lives on the Vars themselves
// and there is no global tape. Independent graphs built on different
// goroutines share nothing and may run concurrently.
//
// # Backward
//
// v.Backward() (v must hold one element) or v.BackwardWith(g) sorts the
// graph below v topologically and runs the rules from v down to the leaves.
// Gradients accumulate with += into Grad, so a Var used twice receives both
// contributions, and gradients of leaves keep accumulating across backward
// passes until ZeroGrad. The order of that accumulation is fixed by the
// graph, so results are reproducible to the bit. After the pass the graph
// is released: the Grads of intermediate Vars are dropped (unless
// RetainGrad was called) and so are the rules and the tensors they saved,
// so a second Backward through the same intermediate Vars panics; build the
// graph again instead.
//
// # Stop-gradient and no-grad evaluation
//
// Detach(v) is a Const sharing v's Value: gradients stop there. Whether an
// op records is decided by its inputs alone (does any require gradients?),
// never by global state, so nothing a goroutine does can switch recording
// off for another one. Evaluation without a graph therefore means running
// the forward pass on inputs that do not require gradients: NoGrad(params,
// f) turns the given leaves into constants while f runs and restores them
// afterwards. It changes those leaves only, so it must not overlap a
// forward or backward pass on another goroutine that uses the same leaves
// (which would race on their values anyway, e.g. against an optimiser
// step); models with separate parameters are unaffected.
//
// # Extending
//
// Custom records an op with a hand-written backward rule: the nn package
// uses it for fused Conv2d and BatchNorm kernels. Rules receive the gradient
// of the output and return one gradient per input (nil where none is
// needed). The package gradcheck compares such rules with finite
// differences.
//
// # Concurrency
//
// A single graph must be used from one goroutine at a time. Backward writes
// the Grad of every leaf it reaches, so concurrent backward passes through
// graphs that share a leaf must be serialised by the caller.
package autograd
