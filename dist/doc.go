// Package dist is the collective layer for data-parallel training on CPU
// clusters: it works out who this process is from the launcher that
// started it, meets the other processes, and sums gradients across them
// over plain TCP, as gloo does for PyTorch, without cgo or MPI libraries.
//
// # Use
//
// Detect reads the launcher's environment (or explicit flags) and returns
// a Launch: rank, world size, local rank and size, node, and the address
// where rank 0 listens; its String is the start-up log line. Launch.Config
// turns it into the Config for Join, which meets the other ranks and
// returns a Group, whose AllReduceSum, Broadcast and Barrier every rank
// calls in the same order with the same lengths:
//
//	launch, err := dist.Detect(os.Getenv, flags)
//	log.Print(launch)
//	cfg, err := launch.Config()
//	cfg.Fingerprint = modelAndFlagsHash
//	group, err := dist.Join(ctx, cfg)
//	defer group.Close()
//	err = group.Broadcast(weights)   // every replica starts from rank 0's
//	err = group.AllReduceSum(grads)  // each step, then divide by group.Size()
//
// One process (world size 1) needs no network: Join returns at once and the
// collectives leave the data as it is.
//
// # Rendezvous
//
// Launchers that name rank 0's host give Addr; under MPICH's Hydra (and
// Intel MPI) without MASTER_ADDR, rank 0 instead listens on an ephemeral
// port and puts host:port into the launcher's PMI-1 key-value store on the
// inherited PMI_FD socket, and the other ranks get it there after a PMI
// barrier, so no port has to be agreed on in advance.
//
// Every connection opens with the 8 bytes "glmcdist" and the protocol
// version (uint32, little endian); then come frames of kind (1 byte),
// sequence number and payload length (uint32 each, little endian) and the
// payload. Rank 0 listens; every other rank dials it, retrying until the
// join deadline, and sends a JSON hello: run id, rank, world size, the
// address it listens on for its ring link, and the caller's fingerprint
// (e.g. a hash of the model and the flags). Rank 0 turns away processes
// that are not glmc, speak another version or belong to another run, and
// goes on waiting; a duplicate rank, another world size or another
// fingerprint fails the whole group with an error naming both sides, which
// rank 0 sends to every waiting rank. Once all have joined, rank 0 sends
// everyone the peer table (each rank's listen address). Each rank r then
// dials rank r+1 (rank P−1 dials rank 0 on the rendezvous port) and
// accepts rank r−1, and the group is formed: every rank sends only to its
// successor and receives only from its predecessor, on persistent links
// with TCP keep-alive. A joining rank listens on the local address of its
// connection to rank 0, so the ring uses the interface that reaches rank 0
// and exposes nothing else.
//
// # All-reduce and the order of the sum
//
// AllReduceSum is a ring all-reduce: the buffer is cut into P chunks
// (chunk c is elements ⌊c·n/P⌋ to ⌊(c+1)·n/P⌋), and in the reduce-scatter
// step s (0 ≤ s < P−1) rank r sends chunk (r−s) mod P to rank r+1 while it
// receives chunk (r−s−1) mod P from rank r−1 and adds it to its own. An
// element of chunk c is therefore summed as
//
//	((x_c + x_{c+1}) + x_{c+2}) + … + x_{c+P−1}   (ranks mod P)
//
// and that order depends only on P and n, never on timing: runs with a
// given world size repeat to the bit. P−1 all-gather steps then pass the
// finished chunks round the ring, so every rank ends with copies of the
// same bits and the replicas never drift apart. Each rank moves 2(P−1)/P
// of the buffer each way, in frames of at most 1 MiB (gloo's segment) so a
// piece is summed while the next is on the wire; sending and receiving run
// at once, since with both in one goroutine every rank would wait for its
// successor to read and chunks larger than the socket buffers would
// deadlock the ring. Another world size adds in another order, so results
// then differ in the last bits.
//
// Broadcast sends rank 0's buffer down the chain 0 → 1 → … → P−1, piece
// by piece. Barrier is an all-reduce of nothing: every step still carries
// a frame, so no rank leaves before all have arrived.
//
// # Faults
//
// Every read and write has a deadline (Config.Timeout), and every frame's
// kind, sequence number and length are checked, so ranks that call
// different collectives fail instead of mixing data. A rank waiting for
// its predecessor sends its successor an empty "waiting" frame every
// quarter timeout, and waiting frames restart the receiver's clock: when
// one rank dies or stalls, only its successor times out (or sees the link
// close), while the ranks waiting on live neighbours keep waiting. The rank
// that sees a failure sends an "abort" frame with its one-line description
// to its successor and closes both links; each rank forwards the abort
// round the ring, so every rank's call returns within about one Timeout
// with an error naming the rank and address that failed, e.g.
//
//	dist: rank 3: all-reduce #1207: receive from rank 2 at 10.0.0.2:40113: connection closed by peer
//	dist: rank 5: all-reduce #1207: the group gave up: rank 3: all-reduce #1207: receive from rank 2 at 10.0.0.2:40113: connection closed by peer
//
// Rank 0 that fails before it can Join (bad flags, missing data) calls
// Abandon instead, which serves the rendezvous only to turn every rank
// that dials in away with rank 0's error, so they fail at once rather than
// at the join deadline.
//
// A group that has failed stays failed: restarting is the launcher's job
// (torchrun --max-restarts, Slurm --requeue, a JobSet's restarts), from the
// last checkpoint.
package dist
