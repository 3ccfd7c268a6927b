package glmc

// ArenaHeld is the storage the trainer's learner keeps between steps, in
// bytes (tensor.Arena.Held).
func ArenaHeld(t *Trainer) int { return t.learn.arena.Held() }
