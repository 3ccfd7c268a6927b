package data

import (
	"sync"
	"sync/atomic"
)

// BadImage is an image file of a dataset that could not be decoded.
type BadImage struct {
	Index int   // into the dataset
	Err   error // names the file and where it is listed
}

// Verify decodes every image file of d on workers goroutines (at least
// one) and returns those that fail, in dataset order. progress, when not
// nil, is called once per image checked, from any of the goroutines. A
// dataset held in memory has nothing to verify.
func Verify(d *Dataset, workers int, progress func()) []BadImage {
	errs := make([]error, len(d.Files))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(d.Files); i = int(next.Add(1) - 1) {
				_, errs[i] = DecodeFile(d.Files[i])
				if progress != nil {
					progress()
				}
			}
		}()
	}
	wg.Wait()
	var bad []BadImage
	for i, err := range errs {
		if err != nil {
			bad = append(bad, BadImage{i, err})
		}
	}
	return bad
}

// Without returns d less the bad images, for training on what decodes
// (glmc train --skip-bad-images); the class list stays d's.
func (d *Dataset) Without(bad []BadImage) *Dataset {
	drop := make(map[int]bool, len(bad))
	for _, b := range bad {
		drop[b.Index] = true
	}
	keep := make([]int, 0, d.Len()-len(drop))
	for i := range d.Len() {
		if !drop[i] {
			keep = append(keep, i)
		}
	}
	return d.Subset(keep)
}
