package nn

// ConvAlgos are the values of GLMC_CONV: the per-shape plan, then each
// algorithm forced wherever it applies.
var ConvAlgos = []string{"", "gemm", "winograd2", "winograd4", "direct"}

// SetConvAlgo makes planConv behave as with GLMC_CONV=algo and returns the
// previous setting.
func SetConvAlgo(algo string) string {
	prev := convAlgo
	convAlgo = algo
	return prev
}

// SetWinoCacheFloats sets the cache budget that sizes Winograd's blocks
// of tiles and returns the previous one: 1 gives the least blocks, so
// that small test maps span several.
func SetWinoCacheFloats(n int) int {
	prev := winoCacheFloats
	winoCacheFloats = n
	return prev
}
