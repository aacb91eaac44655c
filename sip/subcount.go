package sip

// Subscriptions is the number of live subscriptions to an event package
// this instance notifies (for the packages' own gauges).
func (s *Server) Subscriptions(pkg string) int {
	s.subs.mu.Lock()
	defer s.subs.mu.Unlock()
	n := 0
	for _, sub := range s.subs.byDialog {
		if sub.info.Package == pkg {
			n++
		}
	}
	return n
}
