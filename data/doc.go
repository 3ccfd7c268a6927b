// Package data holds the datasets GLMC trains on and turns them into
// batches: readers for the real file formats, the official long-tailed
// split, samplers, augmentation and a parallel, deterministic loader.
//
// Datasets live in memory as bytes (Dataset: (N, C, H, W) uint8 plus labels
// and class names); conversion to float32 happens per batch. Load reads
//
//   - CIFAR-10 and CIFAR-100 in either official layout, from the folders
//     torchvision unpacks (cifar-10-batches-bin, cifar-10-batches-py,
//     cifar-100-binary, cifar-100-python), with class names from the meta
//     files; Download fetches and unpacks the archives, checking their
//     published MD5s;
//   - Fashion-MNIST from its four IDX files, raw or gzipped, by default
//     where Debian's dataset-fashion-mnist package installs them;
//   - a synthetic CIFAR-sized dataset generated from a seed, so demos and
//     tests run without downloads;
//   - image files: the official ImageNet-LT and iNaturalist 2018 list
//     files (ParseList) and torchvision's ImageFolder layout. These
//     datasets hold where each image lies (Dataset.Files), not its pixels:
//     the loader decodes each JPEG or PNG as PIL's convert('RGB') does
//     (DecodeRGB) and applies the official torchvision transforms,
//     reproduced byte for byte (RandomResizedCrop, ColorJitter,
//     RandomGrayscale, moco's GaussianBlur, flip; Resize + CenterCrop
//     for evaluation). Verify decodes them all ahead of time.
//
// LongTail keeps ⌊n_max·(1/IF)^(i/(C−1))⌋ images of class i, chosen with a
// reimplementation of numpy's legacy RandomState exactly as the official
// GLMC code draws them: with the real CIFAR files and seed 3407 the subset
// is image for image the official one.
//
// A GLMC step needs two batches: one from a uniformly shuffled epoch and
// one from a class-weighted sampler, each with two augmented views. Build
// two Loaders (ShuffleSampler and WeightedSampler, Views: 2, distinct
// Streams) and range over Zip(epoch, startBatch, uniform, weighted). Every
// batch is a pure function of (seed, epoch, batch index): output does not
// depend on the number of workers, and a run resumed at any batch sees the
// same batches as one that never stopped.
package data
