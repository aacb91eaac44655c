package dialplan

// InvalidateForTest marks a domain's cached view stale, so that the next
// lookup reads through to Redis.
func InvalidateForTest(s *RedisStore, domain string) { s.cache.wrote(0, domain) }
