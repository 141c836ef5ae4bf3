package command

import "encoding/binary"

// UndoRequest reverts the most recent change not yet undone (Redo false),
// or re-applies the most recently undone change (Redo true). The state
// machine decides which change, from the replicated change history, so
// every node agrees; see docs/QUERY.md ("Undo and redo").
type UndoRequest struct {
	Redo bool
}

// UndoResult describes an applied undo or redo.
type UndoResult struct {
	// Target is the revision of the change undone or redone.
	Target int64
	// Keys is the number of keys restored.
	Keys int64
	// ConflictKey names the key that changed since, with ErrCodeUndoConflict.
	ConflictKey []byte
}

// Undo error codes (Result.Err).
const (
	ErrCodeNothingToUndo = "nothing_to_undo" // no change left within the retained history
	ErrCodeNothingToRedo = "nothing_to_redo" // nothing undone since the last change
	ErrCodeUndoConflict  = "undo_conflict"   // a key to restore was changed since
)

const tagUndo byte = 16

//	undo request = flags:byte(1=redo)                                   tag 16
//	undo result  = target:varint keys:varint conflict_key                tag 16

func appendUndo(dst []byte, u *UndoRequest) []byte {
	var f byte
	if u.Redo {
		f = 1
	}
	return append(dst, f)
}

func (d *decoder) undo(u *UndoRequest) {
	u.Redo = d.flags("undo flags", 1)&1 != 0
}

func appendUndoResult(dst []byte, u *UndoResult) []byte {
	dst = binary.AppendVarint(dst, u.Target)
	dst = binary.AppendVarint(dst, u.Keys)
	return appendBytes(dst, u.ConflictKey)
}

func (d *decoder) undoResult() *UndoResult {
	return &UndoResult{
		Target:      d.varint("undo target"),
		Keys:        d.varint("undo keys"),
		ConflictKey: d.bytes("undo conflict key"),
	}
}
