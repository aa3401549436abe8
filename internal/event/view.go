package event

import (
	"encoding/json"
	"time"
)

// View is an event as the API and webhooks show it.
type View struct {
	ID             string    `json:"id"`
	Object         string    `json:"object"`
	Type           Type      `json:"type"`
	Created        time.Time `json:"created_at"`
	Sequence       int64     `json:"sequence"`
	ObjectID       string    `json:"object_id"`
	ObjectSequence int64     `json:"object_sequence"`
	Data           ViewData  `json:"data"`
}

// ViewData holds the object as it was just after the change.
type ViewData struct {
	Object json.RawMessage `json:"object"`
}

// View returns the event as the API shows it.
func (e *Event) View() View {
	return View{ID: e.ID, Object: "event", Type: e.Type, Created: e.Created, Sequence: e.Sequence,
		ObjectID: e.ObjectID, ObjectSequence: e.ObjectSequence, Data: ViewData{Object: e.Data}}
}
