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
// # Arenas
//
// A graph whose input is made with ConstIn(arena, x) takes its tensors
// from the arena: ops allocate with their inputs' Arena().New, so values
// and gradients reuse the storage of an earlier step instead of growing
// the heap, and a backward pass gives each intermediate gradient back to
// the arena as soon as it has been passed on. Everything such a graph
// holds is valid until the arena's Reset; gradients of leaves (the
// parameters) are always copied out of the arena, as they outlive it.
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
// # Reading order
//
// The tests are written to be read; to learn how the package works, and
// reverse-mode differentiation with it, take them in this order:
//
//  1. This comment, then var.go (Var, Param, Const) and backward.go (the
//     topological sort and the accumulating pass).
//  2. The examples in example_test.go: Example (the gradient of a
//     least-squares loss), ExampleDetach, ExampleNoGrad, ExampleCustom.
//  3. backward_test.go: a Var used twice, a shared subgraph, stop-gradient,
//     no-grad evaluation, released intermediates, a seeded backward pass,
//     ties of Maximum.
//  4. The package gradcheck (its comment explains the finite differences)
//     and gradCases in ops_test.go, the table of every op against them
//     (TestGradients); TestEveryOpHasGradcheckCase in coverage_test.go
//     fails when an exported op has no case there.
//  5. TestMLPLearnsXOR in mlp_test.go: a two-layer perceptron learns XOR
//     with nothing but these ops and a plain gradient-descent loop, until
//     all four points are classified right, to the same bits every run.
//  6. The fused ops of package nn, whose backward rules are hand-written
//     loops recorded with Custom: FunctionalConv2d (nn/conv.go), batch norm
//     (nn/batchnorm.go), Linear, ReLU and the pooling in nn/layers.go, and
//     their finite-difference tests in nn/gradcheck_test.go.
//
// # Concurrency
//
// A single graph must be used from one goroutine at a time. Backward writes
// the Grad of every leaf it reaches, so concurrent backward passes through
// graphs that share a leaf must be serialised by the caller.
package autograd
