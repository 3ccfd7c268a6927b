package data

import "fmt"

// Dataset is a labelled image set held in memory as bytes, the way the files
// store it: converting to float32 happens per batch in the loader, which
// keeps a CIFAR train split at 150 MB instead of 600 MB.
type Dataset struct {
	Name     string   // for messages, e.g. "cifar10/train"
	Channels int      // C
	Height   int      // H
	Width    int      // W
	Images   []uint8  // (N, C, H, W), row-major
	Labels   []int    // (N), each in [0, len(Classes))
	Classes  []string // class names, indexed by label
	// Files, for datasets of image files (ImageNet-LT, iNaturalist,
	// folders), says where image i lies; Images is then empty, the loader
	// decodes each image when a batch needs it, and Channels, Height and
	// Width are the size its transform makes (3×224×224).
	Files []ImageFile // (N)
}

// Len is the number of images.
func (d *Dataset) Len() int { return len(d.Labels) }

// ImageSize is C·H·W, the bytes one image takes.
func (d *Dataset) ImageSize() int { return d.Channels * d.Height * d.Width }

// Image returns image i as a (C, H, W) byte slice sharing the dataset's
// memory. Datasets of image files (Files) have none: it panics.
func (d *Dataset) Image(i int) []uint8 {
	n := d.ImageSize()
	return d.Images[i*n : (i+1)*n : (i+1)*n]
}

// ClassCounts returns the number of images of each class.
func (d *Dataset) ClassCounts() []int {
	counts := make([]int, len(d.Classes))
	for _, y := range d.Labels {
		counts[y]++
	}
	return counts
}

// Subset returns the images at idx, in that order, as a new dataset with
// its own copy of the pixels (or file locations).
func (d *Dataset) Subset(idx []int) *Dataset {
	out := &Dataset{
		Name: d.Name, Channels: d.Channels, Height: d.Height, Width: d.Width,
		Labels:  make([]int, 0, len(idx)),
		Classes: d.Classes,
	}
	if d.Files != nil {
		out.Files = make([]ImageFile, 0, len(idx))
	} else {
		out.Images = make([]uint8, 0, len(idx)*d.ImageSize())
	}
	for _, i := range idx {
		if d.Files != nil {
			out.Files = append(out.Files, d.Files[i])
		} else {
			out.Images = append(out.Images, d.Image(i)...)
		}
		out.Labels = append(out.Labels, d.Labels[i])
	}
	return out
}

// Validate checks that the fields agree with each other: every reader ends
// with it, so the rest of the package can index without checks.
func (d *Dataset) Validate() error {
	if d.Channels <= 0 || d.Height <= 0 || d.Width <= 0 {
		return fmt.Errorf("data: %s: image shape %dx%dx%d must be positive", d.Name, d.Channels, d.Height, d.Width)
	}
	if len(d.Classes) == 0 {
		return fmt.Errorf("data: %s: no class names", d.Name)
	}
	if d.Files != nil {
		if len(d.Files) != len(d.Labels) || len(d.Images) != 0 {
			return fmt.Errorf("data: %s: %d image files and %d pixel bytes for %d labels (want one file each, no pixels)", d.Name, len(d.Files), len(d.Images), len(d.Labels))
		}
	} else if want := len(d.Labels) * d.ImageSize(); len(d.Images) != want {
		return fmt.Errorf("data: %s: %d pixel bytes for %d images of %dx%dx%d (want %d)",
			d.Name, len(d.Images), len(d.Labels), d.Channels, d.Height, d.Width, want)
	}
	for i, y := range d.Labels {
		if y < 0 || y >= len(d.Classes) {
			return fmt.Errorf("data: %s: image %d: label %d out of range 0..%d", d.Name, i, y, len(d.Classes)-1)
		}
	}
	return nil
}
