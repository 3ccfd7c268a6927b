package nn

// ConvAlgos are the values of GLMC_CONV: the per-shape plan, then each
// algorithm forced wherever it applies.
var ConvAlgos = []string{"", "gemm", "winograd"}

// SetConvAlgo makes planConv behave as with GLMC_CONV=algo and returns the
// previous setting.
func SetConvAlgo(algo string) string {
	prev := convAlgo
	convAlgo = algo
	return prev
}
