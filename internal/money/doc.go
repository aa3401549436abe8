// Package money holds Tender's amounts: int64 counts of a currency's minor
// unit (cents, yen, fils) tagged with an ISO 4217 currency, and the integer
// arithmetic that moves them: decimal parsing and formatting, application
// fees, proportional splits and fee gross-ups.
//
// No float64 appears anywhere in this package. Money in binary floating point
// cannot represent 0.10 exactly, and a rounding slip of one cent per charge is
// a reconciliation failure at the end of the month. Every rounding that does
// happen is written down next to the code that does it.
//
// # Minor units
//
// A Currency's exponent (the number of fraction digits of its minor unit)
// comes from golang.org/x/text/currency, which carries Unicode CLDR 32 data,
// not the ISO 4217 list itself. The two agree for the currencies most
// marketplaces use (USD, EUR, GBP: 2; JPY, KRW: 0; BHD, KWD, JOD, OMR, TND: 3)
// but CLDR gives 0 where ISO 4217 and Stripe use 2 for about twenty others
// (IDR, COP, PKR, ...), and Stripe takes ISK with 2 although both CLDR and
// ISO give it 0. Amounts exchanged with Stripe must therefore go through
// [Amount.StripeAmount] and [FromStripe]; see [Currency.StripeExponent] for
// Stripe's own rules.
package money
