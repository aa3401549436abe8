package emulator

import "strconv"

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// money formats minor units for messages, e.g. "$10.00" style "10.00 usd".
func money(v int64, currency string) string {
	s := strconv.FormatInt(v/100, 10) + "." + strconv.FormatInt(100+v%100, 10)[1:]
	return s + " " + currency
}
