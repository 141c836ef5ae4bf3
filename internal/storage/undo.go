package storage

import "encoding/binary"

// The undo namespace (0x0A) holds the state of undo and redo (the state
// machine's undo.go): marks on revisions, UndoKey(g, kind, rev), and the
// redo stack, UndoKey(g, UndoStack, 0).

// Undo record kinds.
const (
	UndoWrite  byte = 'm' // rev is an undo's write; value: the revision it undid
	UndoUndone byte = 'u' // rev has been undone; value: the undo's revision
	UndoStack  byte = 's' // the redo stack (rev 0)
)

// UndoKey returns the undo-namespace key of kind for rev.
func UndoKey(group uint64, kind byte, rev uint64) []byte {
	k := append(groupPrefix(nsUndo, group, 9), kind)
	return binary.BigEndian.AppendUint64(k, rev)
}

// DecodeUndoKey returns the kind and revision of an undo-namespace key.
func DecodeUndoKey(key []byte) (kind byte, rev uint64, err error) {
	if len(key) != groupPrefixLen+9 || key[0] != nsUndo {
		return 0, 0, ErrCorruptKey
	}
	return key[groupPrefixLen], binary.BigEndian.Uint64(key[groupPrefixLen+1:]), nil
}
