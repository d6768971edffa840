package embedded_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
)

// Payment is a signal filtered by JSONPath.
type Payment struct {
	ID       string            `json:"id"`
	Amount   float64           `json:"amount"`
	Currency string            `json:"currency"`
	Payer    map[string]string `json:"payer,omitempty"`
}

var (
	ledgerRun      = weft.NewWorkflow[int, []string]("Ledger", "run")
	ledgerPayments = weft.NewChannel[Payment]("Ledger", "payments")
	ledgerBad      = weft.NewWorkflow[string, string]("Ledger", "bad")
)

func ledgerRegistry() *weft.Registry {
	reg := weft.NewRegistry()
	weft.MustRegister(weft.RegisterWorkflow(reg, ledgerRun, func(ctx weft.Context, _ int) ([]string, error) {
		// Two receptions on the same channel, each with its own filter.
		large := weft.Receive(ctx, ledgerPayments, weft.WhereJSONPath(`$[?@.amount > 1000]`))
		euro := weft.Receive(ctx, ledgerPayments, weft.WhereJSONPath(`$[?@.currency == "EUR" && @.payer.country == "FR"]`))
		var got []string
		for _, d := range []*weft.Deferred[Payment]{large, euro} {
			p, err := d.Await()
			if err != nil {
				return nil, err
			}
			got = append(got, p.ID)
		}
		return got, nil
	}))
	weft.MustRegister(weft.RegisterWorkflow(reg, ledgerBad, func(ctx weft.Context, query string) (string, error) {
		p, err := weft.Receive(ctx, ledgerPayments, weft.WhereJSONPath(query)).Await()
		return p.ID, err
	}))
	return reg
}

func TestJSONPathFiltersOnOneChannel(t *testing.T) {
	for _, o := range []embedded.Options{{}, {DisableFastPath: true}} {
		t.Run(fmt.Sprintf("fastPath=%v", !o.DisableFastPath), func(t *testing.T) {
			c, ctx := start(t, ledgerRegistry(), o)
			h, err := client.Dispatch(ctx, c, ledgerRun, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []Payment{
				{ID: "small-usd", Amount: 12, Currency: "USD"},                                           // fits neither: discarded
				{ID: "eur-de", Amount: 40, Currency: "EUR", Payer: map[string]string{"country": "DE"}},   // nested field differs: discarded
				{ID: "eur-fr", Amount: 40, Currency: "EUR", Payer: map[string]string{"country": "FR"}},   // the euro reception
				{ID: "large", Amount: 5000, Currency: "USD"},                                             // the large reception
				{ID: "eur-fr-2", Amount: 70, Currency: "EUR", Payer: map[string]string{"country": "FR"}}, // euro is closed: discarded
			} {
				if err := client.Signal(ctx, c, ledgerPayments, h.WorkflowID, p); err != nil {
					t.Fatal(err)
				}
			}
			got, err := h.Await(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != "large,eur-fr" {
				t.Fatalf("received %v, want [large eur-fr]: each reception its own signal, the others discarded", got)
			}
		})
	}
}

func TestInvalidJSONPathFilterIsABadInput(t *testing.T) {
	c, ctx := start(t, ledgerRegistry(), embedded.Options{})
	for _, q := range []string{`$[?@.amount >]`, `$.amount`, ``} {
		_, err := client.Run(ctx, c, ledgerBad, q)
		if !errors.Is(err, weft.ErrBadInput) || !strings.Contains(err.Error(), "invalid JSONPath filter") {
			t.Errorf("query %q: %v, want a bad-input failure naming the invalid filter", q, err)
		}
	}
	// A valid query on the same workflow still works.
	h, err := client.Dispatch(ctx, c, ledgerBad, `$[?@.amount == 7]`)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []Payment{{ID: "eight", Amount: 8}, {ID: "seven", Amount: 7}} {
		if err := client.Signal(ctx, c, ledgerPayments, h.WorkflowID, p); err != nil {
			t.Fatal(err)
		}
	}
	if id, err := h.Await(ctx); err != nil || id != "seven" {
		t.Fatalf("valid query: %q, %v", id, err)
	}
}
