// Package trip is a saga: book a car, a flight and a hotel; when a booking
// fails, cancel the ones already made, in reverse order.
package trip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
)

// Request describes a trip. FailAt names a booking ("car", "flight",
// "hotel") that the demo services will refuse, to show the compensations.
type Request struct {
	Traveler string `json:"traveler"`
	To       string `json:"to"`
	Nights   int    `json:"nights"`
	FailAt   string `json:"failAt,omitempty"`
}

// Booking is a confirmed reservation.
type Booking struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// Itinerary is the saga's result.
type Itinerary struct {
	Traveler string    `json:"traveler"`
	Bookings []Booking `json:"bookings"`
}

// Definitions shared by the workflow, the services and the callers.
var (
	BookCar      = weft.NewTask[Request, Booking]("CarRental", "book")
	CancelCar    = weft.NewTask[Booking, bool]("CarRental", "cancel")
	BookFlight   = weft.NewTask[Request, Booking]("Airline", "book")
	CancelFlight = weft.NewTask[Booking, bool]("Airline", "cancel")
	BookHotel    = weft.NewTask[Request, Booking]("Hotel", "book")
	CancelHotel  = weft.NewTask[Booking, bool]("Hotel", "cancel")
	BookTrip     = weft.NewWorkflow[Request, Itinerary]("TripBooking", "book")
)

// Workflow books the three legs; on failure it compensates in reverse.
func Workflow(ctx weft.Context, r Request) (Itinerary, error) {
	legs := []struct {
		book   weft.TaskRef[Request, Booking]
		cancel weft.TaskRef[Booking, bool]
	}{{BookCar, CancelCar}, {BookFlight, CancelFlight}, {BookHotel, CancelHotel}}
	it := Itinerary{Traveler: r.Traveler}
	var undo []weft.TaskRef[Booking, bool]
	for _, leg := range legs {
		b, err := weft.Call(ctx, leg.book, r)
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				if _, cerr := weft.Call(ctx, undo[i], it.Bookings[i]); cerr != nil {
					return it, fmt.Errorf("compensation of %s failed: %w (after %w)", it.Bookings[i].ID, cerr, err)
				}
			}
			return Itinerary{Traveler: r.Traveler}, fmt.Errorf("trip for %s not booked, %d booking(s) cancelled: %w", r.Traveler, len(undo), err)
		}
		it.Bookings = append(it.Bookings, b)
		undo = append(undo, leg.cancel)
	}
	return it, nil
}

// ErrRefused is what the demo services return for the FailAt booking.
var ErrRefused = errors.New("no availability")

// Register adds the workflow and the demo services to reg; the services
// print what they do to out.
func Register(reg *weft.Registry, out io.Writer) error {
	var n atomic.Int64
	book := func(kind string) func(weft.TaskContext, Request) (Booking, error) {
		return func(_ weft.TaskContext, r Request) (Booking, error) {
			if r.FailAt == kind {
				fmt.Fprintf(out, "  [%s] %s: refused for %s\n", strings.ToLower(kind), kind, r.Traveler)
				return Booking{}, weft.NonRetryable(fmt.Errorf("%s to %s: %w", kind, r.To, ErrRefused))
			}
			b := Booking{Kind: kind, ID: fmt.Sprintf("%s-%03d", strings.ToUpper(kind[:1]), n.Add(1))}
			fmt.Fprintf(out, "  [%s] booked %s for %s\n", kind, b.ID, r.Traveler)
			return b, nil
		}
	}
	cancel := func(kind string) func(weft.TaskContext, Booking) (bool, error) {
		return func(_ weft.TaskContext, b Booking) (bool, error) {
			fmt.Fprintf(out, "  [%s] cancelled %s\n", kind, b.ID)
			return true, nil
		}
	}
	return errors.Join(
		weft.RegisterTask(reg, BookCar, book("car")),
		weft.RegisterTask(reg, CancelCar, cancel("car")),
		weft.RegisterTask(reg, BookFlight, book("flight")),
		weft.RegisterTask(reg, CancelFlight, cancel("flight")),
		weft.RegisterTask(reg, BookHotel, book("hotel")),
		weft.RegisterTask(reg, CancelHotel, cancel("hotel")),
		weft.RegisterWorkflow(reg, BookTrip, Workflow),
	)
}

// Demo books one trip that succeeds and one whose hotel is refused.
func Demo(ctx context.Context, c *client.Client, out io.Writer) error {
	fmt.Fprintln(out, "== trip booking saga")
	fmt.Fprintln(out, "trip 1: alice to Lisbon")
	it, err := client.Run(ctx, c, BookTrip, Request{Traveler: "alice", To: "Lisbon", Nights: 3})
	if err != nil {
		return fmt.Errorf("trip 1: %w", err)
	}
	fmt.Fprintf(out, "trip 1 result: booked %v\n", it.Bookings)
	fmt.Fprintln(out, "trip 2: bob to Oslo, the hotel has no room")
	_, err = client.Run(ctx, c, BookTrip, Request{Traveler: "bob", To: "Oslo", Nights: 2, FailAt: "hotel"})
	if err == nil {
		return errors.New("trip 2: expected the saga to fail")
	}
	if !errors.Is(err, weft.ErrWorkflowFailed) {
		return fmt.Errorf("trip 2: unexpected error %w", err)
	}
	fmt.Fprintf(out, "trip 2 result: failed as expected, compensated: %v\n", err)
	return nil
}
