package model

// Objects are the domain types that map to records.
type Object interface {
	*Collection | *Folder | *Request | *Environment | *Variable | *HeaderPreset | *HistoryEntry
}

// KindOf returns the record kind of a domain value.
func KindOf(v any) Kind {
	switch v.(type) {
	case Collection, *Collection:
		return KindCollection
	case Folder, *Folder:
		return KindFolder
	case Request, *Request:
		return KindRequest
	case Environment, *Environment:
		return KindEnvironment
	case Variable, *Variable:
		return KindVariable
	case HeaderPreset, *HeaderPreset:
		return KindHeaderPreset
	case HistoryEntry, *HistoryEntry:
		return KindHistory
	}
	return ""
}

func setID(v any, id ID) {
	switch o := v.(type) {
	case *Collection:
		o.ID = id
	case *Folder:
		o.ID = id
	case *Request:
		o.ID = id
	case *Environment:
		o.ID = id
	case *Variable:
		o.ID = id
	case *HeaderPreset:
		o.ID = id
	case *HistoryEntry:
		o.ID = id
	}
}

// Decode turns a record into its domain value, ID included. It fails with
// ErrInvalid when the record is of another kind or its fields do not decode.
func Decode[T Collection | Folder | Request | Environment | Variable | HeaderPreset | HistoryEntry](r Record) (T, error) {
	var v T
	p := any(&v)
	if k := KindOf(p); k != r.Kind {
		return v, errKind(r, k)
	}
	if err := FromRecord(r, p); err != nil {
		return v, err
	}
	setID(p, r.ID)
	return v, nil
}

// Encode turns a domain value into its record.
func Encode[P Object](p P) (Record, error) {
	return ToRecord(KindOf(p), idOf(p), p)
}

func idOf(v any) ID {
	switch o := v.(type) {
	case *Collection:
		return o.ID
	case *Folder:
		return o.ID
	case *Request:
		return o.ID
	case *Environment:
		return o.ID
	case *Variable:
		return o.ID
	case *HeaderPreset:
		return o.ID
	case *HistoryEntry:
		return o.ID
	}
	return ""
}
