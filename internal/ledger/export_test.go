package ledger

// SetReportChunk makes Report read n postings a statement, so a test sees
// a report cross chunks, and an entry larger than a chunk, without posting
// thousands.
func SetReportChunk(s *Store, n int) { s.chunk = n }
