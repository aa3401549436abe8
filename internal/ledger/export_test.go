package ledger

// SetReportChunk makes Report read n entries a statement, so a test sees
// a report cross chunks without posting thousands.
func SetReportChunk(s *Store, n int) { s.chunk = n }
