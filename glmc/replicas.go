package glmc

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/glmc/glmc/nn"
)

// fromRank0 names what rank 0 sent in the errors of the other ranks.
const fromRank0 = "the start rank 0 sent"

// agree makes rank 0's outcome every rank's: rank 0 passes its error (nil
// on success) and returns it; every other rank fails when rank 0 did, so
// no rank waits for one that has stopped.
func (t *Trainer) agree(err error) error {
	status := []float32{0}
	if err == nil {
		status[0] = 1
	}
	if berr := t.group.Broadcast(status); berr != nil && err == nil {
		err = fmt.Errorf("glmc: %w", berr)
	}
	if t.rank() == 0 || err != nil {
		return err
	}
	if status[0] != 1 {
		return fmt.Errorf("glmc: rank %d: rank 0 failed (its log says why)", t.rank())
	}
	return nil
}

// broadcastStart gives every rank rank 0's start (err is rank 0's error
// in preparing it): the run State, the optimiser state and the model, so
// that all replicas start from the same bits, whether the run is fresh or
// resumed from rank 0's checkpoint.
func (t *Trainer) broadcastStart(err error) error {
	if err := t.agree(err); err != nil {
		return err
	}
	var blob []byte
	if t.rank() == 0 {
		js, err := json.Marshal(&t.state)
		if err != nil {
			return fmt.Errorf("glmc: %w", err)
		}
		var b bytes.Buffer
		if err := nn.WriteSafetensors(&b, optimizerState(&t.learn), map[string]string{metaKey: string(js)}); err != nil {
			return err
		}
		blob = b.Bytes()
	}
	blob, err = broadcastBytes(t.group, blob)
	if err != nil {
		return err
	}
	if t.rank() != 0 {
		_, st, err := decodeRun(fromRank0, blob)
		if err != nil {
			return err
		}
		if err := decodeOptimizer(fromRank0, blob, &t.learn); err != nil {
			return err
		}
		t.state = *st
	}
	return broadcastModel(t.group, t.learn.Model)
}

// broadcastBytes returns rank 0's b on every rank: its length, then the
// bytes four to a float32 (Broadcast copies bits).
func broadcastBytes(g Group, b []byte) ([]byte, error) {
	size := []float32{float32(len(b) >> 24), float32(len(b) & (1<<24 - 1))}
	if err := g.Broadcast(size); err != nil {
		return nil, fmt.Errorf("glmc: %w", err)
	}
	n := int(size[0])<<24 | int(size[1])
	padded := make([]byte, (n+3)/4*4)
	copy(padded, b)
	buf := make([]float32, len(padded)/4)
	for i := range buf {
		buf[i] = math.Float32frombits(binary.LittleEndian.Uint32(padded[4*i:]))
	}
	if err := g.Broadcast(buf); err != nil {
		return nil, fmt.Errorf("glmc: %w", err)
	}
	for i, v := range buf {
		binary.LittleEndian.PutUint32(padded[4*i:], math.Float32bits(v))
	}
	return padded[:n], nil
}

// broadcastModel overwrites m's parameters and buffers with rank 0's, the
// batch counters as two 24-bit halves (exact in float32).
func broadcastModel(g Group, m *nn.Model) error {
	entries := nn.StateDict(m)
	var buf []float32
	for _, e := range entries {
		if t := e.Tensor(); t != nil {
			buf = append(buf, t.Data...)
		} else {
			buf = append(buf, float32(*e.Count>>24), float32(*e.Count&(1<<24-1)))
		}
	}
	if err := g.Broadcast(buf); err != nil {
		return fmt.Errorf("glmc: initial weights: %w", err)
	}
	for _, e := range entries {
		if t := e.Tensor(); t != nil {
			buf = buf[copy(t.Data, buf):]
		} else {
			*e.Count = int64(buf[0])<<24 | int64(buf[1])
			buf = buf[2:]
		}
	}
	return nil
}
