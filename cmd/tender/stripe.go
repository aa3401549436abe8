package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/stripeevents"
)

const stripeUsage = `usage:
  tender stripe [settings] webhooks setup
  tender stripe [settings] webhooks roll [--expires-in 24h]
  tender stripe [settings] webhooks list`

func runStripe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := loadConfig("stripe", args, getenv, stdout)
	if err != nil {
		return err
	}
	if len(rest) < 2 || rest[0] != "webhooks" {
		return usagef("%s", stripeUsage)
	}
	// Every argument is checked before the database is touched.
	overlap := stripeevents.DefaultOverlap
	switch rest[1] {
	case "setup", "list":
		if len(rest) != 2 {
			return usagef("stripe webhooks %s takes no arguments\n%s", rest[1], stripeUsage)
		}
	case "roll":
		fs := flag.NewFlagSet("stripe webhooks roll", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.DurationVar(&overlap, "expires-in", stripeevents.DefaultOverlap, "how long the old secrets keep verifying")
		if err := fs.Parse(rest[2:]); err != nil || fs.NArg() > 0 {
			return usagef("stripe webhooks roll takes only --expires-in\n%s", stripeUsage)
		}
		if overlap < 0 || overlap > stripeevents.MaxOverlap {
			return usagef("invalid --expires-in=%s: want 0 to %s", overlap, stripeevents.MaxOverlap)
		}
	default:
		return usagef("unknown stripe webhooks command %q\n%s", rest[1], stripeUsage)
	}
	if err := checkStripeSettings(cfg); err != nil {
		return err
	}
	st := stripeFromConfig(cfg)
	if st == nil {
		return usagef("tender stripe needs %s: with none, 'tender serve' runs an emulator in-process and sets up its endpoints itself", setStripeKey.env)
	}
	publicURL := cfg.str(setPublicURL)
	if publicURL == "" {
		return usagef("tender stripe needs %s: the URL at which Stripe reaches this Tender", setPublicURL.env)
	}
	a, _, err := openApp(ctx, cfg, cfg.logger(stderr), st, publicURL)
	if err != nil {
		return err
	}
	defer a.Stop(context.Background())
	plat, err := a.Platforms.Default(ctx)
	if errs.Is(err, errs.NotFound) {
		return fmt.Errorf("no platform in %s yet: 'tender serve' or 'tender apikey create' makes it", a.DB.Location)
	}
	if err != nil {
		return err
	}
	var list *stripeevents.EndpointList
	switch rest[1] {
	case "setup":
		list, err = a.StripeEvents.Setup(ctx, plat.ID)
	case "roll":
		list, err = a.StripeEvents.Roll(ctx, plat.ID, overlap)
	default:
		list, err = a.StripeEvents.Endpoints(ctx, plat.ID)
	}
	if err != nil {
		return err
	}
	printEndpoints(stdout, list.Data)
	return nil
}

func printEndpoints(w io.Writer, eps []*stripeevents.Endpoint) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCOPE\tSTATUS\tSTRIPE ID\tURL\tEXPIRES")
	for _, e := range eps {
		expires := "-"
		if e.ExpiresAt != nil {
			expires = e.ExpiresAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Scope, e.Status, e.StripeID, e.URL, expires)
	}
	tw.Flush()
}
