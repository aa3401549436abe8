package payment

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/store"
)

// StripeFeePayer is who bears Stripe's processing fee.
type StripeFeePayer string

// Who bears Stripe's fee.
const (
	// StripeFeeMerchant: the merchant's account pays Stripe's fee, as
	// Stripe does for direct charges; the platform's fee comes on top.
	StripeFeeMerchant StripeFeePayer = "merchant"
	// StripeFeePlatform: the platform bears Stripe's fee out of its own.
	// Recorded, not applied yet: on a direct charge Stripe takes its fee
	// from the merchant's account, and the platform's share must be
	// returned after the charge (a partial refund of the application fee,
	// once the charge's balance transaction shows Stripe's fee).
	StripeFeePlatform StripeFeePayer = "platform"
)

// DisputePayer is who finally bears a dispute of a charge whose money
// Stripe takes from the platform's balance: a destination or separate
// charge. (A direct charge's dispute is on the merchant's own account and
// always the merchant's.)
type DisputePayer string

// Who bears a platform's disputes.
const (
	// DisputePlatform: the platform keeps the loss, as Stripe leaves it.
	DisputePlatform DisputePayer = "platform"
	// DisputeMerchant: Tender takes the disputed amount and Stripe's
	// dispute fee back from the merchants the charge was transferred to,
	// by reversing their transfers, and gives the amount back if the
	// dispute is won (see package dispute).
	DisputeMerchant DisputePayer = "merchant"
)

// Rule is a fee rule for one currency, as the API shows it: money.FeeRule
// with its JSON names. Amounts are minor units of that currency.
type Rule struct {
	BasisPoints int64 `json:"basis_points"`
	Fixed       int64 `json:"fixed"`
	Min         int64 `json:"min"`
	Max         int64 `json:"max"`
}

func (r Rule) money() money.FeeRule {
	return money.FeeRule{BasisPoints: r.BasisPoints, Fixed: r.Fixed, Min: r.Min, Max: r.Max}
}

// FeePolicy is one version of a platform's fee policy, or of a merchant's
// override of it. Versions are immutable: a change is a new version.
type FeePolicy struct {
	ID         string // "" for the default policy of a platform that set none
	PlatformID string
	MerchantID string // "" for the platform's own policy
	Version    int64  // 1, 2, … per platform or per merchant override; 0 for the default
	// Rules maps a lower-case ISO 4217 code to its rule: 30 cents is not
	// 30 yen, so each currency has its own.
	Rules          map[string]Rule
	StripeFeePayer StripeFeePayer
	// CustomerCoversFees: the amount a payment asks for is what the
	// merchant should get before Stripe's fee; the customer is charged the
	// gross amount whose net after the platform's fee is at least that
	// (money.GrossUp).
	CustomerCoversFees bool
	// DisputePayer is who bears the disputes of the payments this version
	// prices.
	DisputePayer DisputePayer
	// Removed marks the version that removed a merchant's override.
	Removed bool
	Created time.Time
}

// FeePolicyParams set a new version of a policy.
type FeePolicyParams struct {
	Rules              map[string]Rule `json:"rules" text:"keys=32"` // keyed by currency code
	StripeFeePayer     StripeFeePayer  `json:"stripe_fee_payer" text:"32"`
	CustomerCoversFees bool            `json:"customer_covers_fees"`
	DisputePayer       DisputePayer    `json:"dispute_payer" text:"32"`
}

// validate checks every rule and returns the rules keyed by lower-case
// code. Errors name the field as the API does: rules[usd][basis_points].
func (p *FeePolicyParams) validate() (map[string]Rule, error) {
	switch p.StripeFeePayer {
	case "":
		p.StripeFeePayer = StripeFeeMerchant
	case StripeFeeMerchant, StripeFeePlatform:
	default:
		return nil, errs.Invalidf("stripe_fee_payer", "stripe_fee_payer must be merchant or platform, not %q.", string(p.StripeFeePayer))
	}
	switch p.DisputePayer {
	case "":
		p.DisputePayer = DisputePlatform
	case DisputePlatform, DisputeMerchant:
	default:
		return nil, errs.Invalidf("dispute_payer", "dispute_payer must be platform or merchant, not %q.", string(p.DisputePayer))
	}
	codes := make([]string, 0, len(p.Rules))
	for code := range p.Rules {
		codes = append(codes, code)
	}
	sort.Strings(codes) // the first bad field is the same every time
	rules := make(map[string]Rule, len(p.Rules))
	for _, code := range codes {
		r := p.Rules[code]
		cur, err := money.ParseCurrency(code)
		if err != nil {
			return nil, errs.Invalidf("rules["+code+"]", "%q is not a currency Tender can charge in.", code)
		}
		key := cur.Lower()
		if _, dup := rules[key]; dup {
			return nil, errs.Invalidf("rules["+code+"]", "The rule for %s is given twice.", cur.Code())
		}
		if err := r.money().Validate(); err != nil {
			var fe *money.FieldError
			if errors.As(err, &fe) {
				return nil, errs.Invalidf("rules["+code+"]["+fe.Field+"]", "rules[%s][%s] %s.", code, fe.Field, fe.Reason)
			}
			return nil, err
		}
		if p.CustomerCoversFees && r.BasisPoints == 10000 && r.Max == 0 {
			return nil, errs.Invalidf("rules["+code+"][basis_points]",
				"A 100 %% fee with no maximum cannot be covered by the customer: no amount would be left.")
		}
		rules[key] = r
	}
	return rules, nil
}

// Fee is the fee a policy takes on a payment, and the amount to charge.
type Fee struct {
	Amount int64 // what the customer is charged
	Fee    int64 // the platform's application fee
}

// FeeFor prices a payment of amount minor units of cur under the policy:
// the fee by the currency's rule (money.FeeRule.Fee: basis points rounded
// half up, plus fixed, clamped to min, max and the amount), and, when the
// customer covers the fees, the amount grossed up so that amount minus fee
// is at least what was asked (money.GrossUp; it may exceed it by a minor
// unit because the fee rounds, never fall short). A policy with no rules
// at all takes no fee; a policy with rules but none for cur is an error
// naming currency, so a payment in a currency the platform never priced
// is not silently free.
func (p *FeePolicy) FeeFor(amount int64, cur money.Currency) (Fee, error) {
	if len(p.Rules) == 0 {
		return Fee{Amount: amount}, nil
	}
	r, ok := p.Rules[cur.Lower()]
	if !ok {
		return Fee{}, errs.Invalidf("currency", "The fee policy has no rule for %s; add one or give application_fee.", cur.Code())
	}
	rule := r.money()
	gross := amount
	if p.CustomerCoversFees {
		g, err := money.GrossUp(amount, rule)
		if err != nil {
			return Fee{}, errs.Invalidf("amount", "No amount covers the fee on %d.", amount)
		}
		gross = g
	}
	fee, err := rule.Fee(gross)
	if err != nil {
		return Fee{}, errs.Invalidf("amount", "amount must not be negative.")
	}
	return Fee{Amount: gross, Fee: fee}, nil
}

// defaultPolicy is the policy of a platform that set none: no fee.
func defaultPolicy(platformID string) *FeePolicy {
	return &FeePolicy{PlatformID: platformID, Rules: map[string]Rule{}, StripeFeePayer: StripeFeeMerchant, DisputePayer: DisputePlatform}
}

const feeCols = `platform_id, id, merchant_id, version, rules, stripe_fee_payer, customer_covers_fees, dispute_payer, removed, created_at`

func scanFeePolicy(row store.Scanner) (*FeePolicy, error) {
	var p FeePolicy
	var rules, payer, disputes string
	var created store.Time
	if err := row.Scan(&p.PlatformID, &p.ID, &p.MerchantID, &p.Version, &rules, &payer, &p.CustomerCoversFees, &disputes, &p.Removed,
		&created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(rules), &p.Rules); err != nil {
		return nil, fmt.Errorf("fee policy %s rules: %w", p.ID, err)
	}
	p.StripeFeePayer, p.DisputePayer, p.Created = StripeFeePayer(payer), DisputePayer(disputes), created.Time
	return &p, nil
}

// latest returns the newest version for the platform (” merchant) or a
// merchant's override, or sql.ErrNoRows.
func latest(ctx context.Context, q store.Querier, platformID, merchantID string) (*FeePolicy, error) {
	return scanFeePolicy(q.QueryRowContext(ctx, `SELECT `+feeCols+` FROM fee_policies
		WHERE platform_id = $1 AND merchant_id = $2 ORDER BY version DESC LIMIT 1`, platformID, merchantID))
}

// PlatformFeePolicy returns the platform's current policy: its latest
// version, or the default (no fee, version 0) if it set none.
func (s *Service) PlatformFeePolicy(ctx context.Context, platformID string) (*FeePolicy, error) {
	p, err := latest(ctx, s.db, platformID, "")
	if errors.Is(err, sql.ErrNoRows) {
		return defaultPolicy(platformID), nil
	}
	return p, err
}

// EffectiveFeePolicy returns the policy that prices the merchant's
// payments: its latest override unless that was removed, else the
// platform's current policy. It does not check that the merchant exists.
func (s *Service) EffectiveFeePolicy(ctx context.Context, platformID, merchantID string) (*FeePolicy, error) {
	p, err := latest(ctx, s.db, platformID, merchantID)
	switch {
	case err == nil && !p.Removed:
		return p, nil
	case err == nil || errors.Is(err, sql.ErrNoRows):
		return s.PlatformFeePolicy(ctx, platformID)
	}
	return nil, err
}

// MerchantFeePolicy returns the policy that prices the merchant's
// payments, as EffectiveFeePolicy. Returns errs.NotFound for an unknown
// merchant.
func (s *Service) MerchantFeePolicy(ctx context.Context, platformID, merchantID string) (*FeePolicy, error) {
	if _, err := s.connect.Merchant(ctx, platformID, merchantID); err != nil {
		return nil, err
	}
	return s.EffectiveFeePolicy(ctx, platformID, merchantID)
}

// SetPlatformFeePolicy records a new version of the platform's policy.
// Returns errs.Invalid naming the field, or errs.Conflict if another change
// took the same version first.
func (s *Service) SetPlatformFeePolicy(ctx context.Context, platformID string, p FeePolicyParams) (*FeePolicy, error) {
	return s.newVersion(ctx, platformID, "", p, false)
}

// SetMerchantFeePolicy records a new version of the merchant's override.
// Returns errs.Invalid naming the field, errs.NotFound, or errs.Conflict.
func (s *Service) SetMerchantFeePolicy(ctx context.Context, platformID, merchantID string, p FeePolicyParams) (*FeePolicy, error) {
	if _, err := s.connect.Merchant(ctx, platformID, merchantID); err != nil {
		return nil, err
	}
	return s.newVersion(ctx, platformID, merchantID, p, false)
}

// RemoveMerchantFeePolicy removes the merchant's override, as a new
// version marked removed, and returns the policy now in effect (the
// platform's). Removing when there is no override changes nothing.
// Returns errs.NotFound for an unknown merchant.
func (s *Service) RemoveMerchantFeePolicy(ctx context.Context, platformID, merchantID string) (*FeePolicy, error) {
	if _, err := s.connect.Merchant(ctx, platformID, merchantID); err != nil {
		return nil, err
	}
	cur, err := latest(ctx, s.db, platformID, merchantID)
	if err == nil && !cur.Removed {
		if _, err := s.newVersion(ctx, platformID, merchantID, FeePolicyParams{StripeFeePayer: cur.StripeFeePayer, DisputePayer: cur.DisputePayer}, true); err != nil {
			return nil, err
		}
	} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return s.PlatformFeePolicy(ctx, platformID)
}

// newVersion writes a new version of a policy; a set's answer, the new
// version, commits with it.
func (s *Service) newVersion(ctx context.Context, platformID, merchantID string, p FeePolicyParams, removed bool) (*FeePolicy, error) {
	rules, err := p.validate()
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(rules)
	if err != nil {
		return nil, err
	}
	now := store.TimeOf(s.now())
	fp := &FeePolicy{ID: id.For(ctx, FeePolicyPrefix), PlatformID: platformID, MerchantID: merchantID, Rules: rules,
		StripeFeePayer: p.StripeFeePayer, CustomerCoversFees: p.CustomerCoversFees, DisputePayer: p.DisputePayer, Removed: removed,
		Created: now.Time}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM fee_policies WHERE platform_id = $1 AND merchant_id = $2`,
			platformID, merchantID).Scan(&fp.Version); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO fee_policies (`+feeCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			platformID, fp.ID, merchantID, fp.Version, string(raw), string(fp.StripeFeePayer), fp.CustomerCoversFees, string(fp.DisputePayer),
			removed, now)
		if err != nil || removed { // a removal answers with the policy in effect instead
			return err
		}
		return idempotency.Commit(ctx, tx, fp.View())
	})
	if store.IsUniqueViolation(err) {
		return nil, errs.E(errs.Conflict, "The fee policy was changed by another request at the same time; retry.").WithReason("fee_policy_changed")
	}
	if err != nil {
		return nil, err
	}
	return fp, nil
}

// FeePolicyView is a fee policy as the API shows it.
type FeePolicyView struct {
	Object             string          `json:"object"`
	ID                 *string         `json:"id"`
	Merchant           *string         `json:"merchant"`
	Version            int64           `json:"version"`
	Rules              map[string]Rule `json:"rules"`
	StripeFeePayer     StripeFeePayer  `json:"stripe_fee_payer"`
	CustomerCoversFees bool            `json:"customer_covers_fees"`
	DisputePayer       DisputePayer    `json:"dispute_payer"`
	Created            *time.Time      `json:"created_at"`
}

// View returns the policy as the API shows it.
func (p *FeePolicy) View() FeePolicyView {
	v := FeePolicyView{Object: "fee_policy", Version: p.Version, Rules: p.Rules, StripeFeePayer: p.StripeFeePayer,
		CustomerCoversFees: p.CustomerCoversFees, DisputePayer: p.DisputePayer}
	if p.ID != "" {
		v.ID, v.Created = &p.ID, &p.Created
	}
	if p.MerchantID != "" {
		v.Merchant = &p.MerchantID
	}
	if v.Rules == nil {
		v.Rules = map[string]Rule{}
	}
	return v
}

// DisputePayerOf is who bears p's disputes, fixed when p was made: the
// answer of the fee policy version that priced it or, when its fee was
// given explicitly, of the policy in effect for its merchant at that
// moment. Later versions never change it, so a dispute months after the
// payment is borne as the platform's terms said when the customer paid.
// A direct charge's disputes are its merchant's whatever the policy says.
func (s *Service) DisputePayerOf(ctx context.Context, p *Payment) (DisputePayer, error) {
	if p.ChargeType == ChargeDirect {
		return DisputeMerchant, nil
	}
	var payer string
	var err error
	if p.FeePolicyID != "" {
		err = s.db.QueryRowContext(ctx, `SELECT dispute_payer FROM fee_policies WHERE platform_id = $1 AND id = $2 AND version = $3`,
			p.PlatformID, p.FeePolicyID, p.FeePolicyVersion).Scan(&payer)
	} else {
		payer, err = s.disputePayerAt(ctx, p.PlatformID, p.MerchantID, p.Created)
	}
	if err != nil {
		return "", fmt.Errorf("payment %s: who bears its disputes: %w", p.ID, err)
	}
	return DisputePayer(payer), nil
}

// disputePayerAt is the dispute payer of the policy in effect for the
// merchant at t, as EffectiveFeePolicy would have answered then.
func (s *Service) disputePayerAt(ctx context.Context, platformID, merchantID string, t time.Time) (string, error) {
	var payer string
	var removed bool
	at := store.TimeOf(t)
	const q = `SELECT dispute_payer, removed FROM fee_policies WHERE platform_id = $1 AND merchant_id = $2 AND created_at <= $3
		ORDER BY version DESC LIMIT 1`
	err := s.db.QueryRowContext(ctx, q, platformID, merchantID, at).Scan(&payer, &removed)
	if err == nil && !removed {
		return payer, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	err = s.db.QueryRowContext(ctx, q, platformID, "", at).Scan(&payer, &removed)
	if errors.Is(err, sql.ErrNoRows) {
		return string(DisputePlatform), nil
	}
	return payer, err
}
