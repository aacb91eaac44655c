package location

// BatchStats returns how many pipelines the store's group commit sent and
// how many jobs they carried.
func BatchStats(r *Redis) (batches, jobs uint64) { return r.batch.batches.Load(), r.batch.jobs.Load() }
