package command

import (
	"encoding/binary"
	"fmt"
)

// Document operations (tag 6). A DocRequest changes part of the JSON
// document stored at Key, atomically, in the state machine; reads of
// documents (JSON.GET, JSON.TYPE ...) need no request: the front ends read
// the stored value and evaluate them with package document.

// DocOp is a document write. The numbers are those of document.OpKind.
type DocOp uint8

const (
	DocSet       DocOp = iota + 1 // Values[0] at Path (NX, XX)
	DocDel                        // delete at Path (the root: the key)
	DocArrAppend                  // append Values
	DocArrInsert                  // insert Values before Index
	DocArrPop                     // pop at Index (-1 = last)
	DocArrTrim                    // keep Index..Stop
	DocNumIncrBy                  // add the number Values[0]
	DocNumMultBy                  // multiply by the number Values[0]
	DocStrAppend                  // append the JSON string Values[0]
	DocMerge                      // RFC 7386 merge patch Values[0]
	DocClear                      // empty containers, zero numbers
	DocToggle                     // negate booleans

	maxDocOp = DocToggle
)

// DocRequest is an atomic write to part of a JSON document, usable as a
// request and as a TxnOp. Values are JSON texts; Path is in any spelling
// package document accepts.
type DocRequest struct {
	Op     DocOp
	Key    []byte
	Path   []byte
	Values [][]byte
	Index  int64
	Stop   int64
	NX, XX bool
}

// DocResult is the outcome of a DocRequest.
type DocResult struct {
	// Err is the document error code (document.Code, "doc_no_path" ...)
	// or ErrCodeWrongType when Key holds a value that is not a document;
	// Msg explains it. Nothing was written.
	Err string
	Msg string
	// Written reports that the document changed (or was deleted).
	Written bool
	// Reply is the operation's reply, encoded by document.AppendReply.
	Reply []byte
}

// ErrCodeWrongType is the error of an operation on a key holding another
// type of value (a document op on plain bytes, a string op on a
// document).
const ErrCodeWrongType = "wrong_type"

func appendDoc(dst []byte, m *DocRequest) []byte {
	dst = append(dst, byte(m.Op))
	dst = appendBytes(dst, m.Key)
	dst = appendBytes(dst, m.Path)
	dst = binary.AppendUvarint(dst, uint64(len(m.Values)))
	for _, v := range m.Values {
		dst = appendBytes(dst, v)
	}
	dst = binary.AppendVarint(dst, m.Index)
	dst = binary.AppendVarint(dst, m.Stop)
	var flags byte
	if m.NX {
		flags |= flagNX
	}
	if m.XX {
		flags |= flagXX
	}
	return append(dst, flags)
}

func appendDocResult(dst []byte, r *DocResult) []byte {
	dst = appendBytes(dst, []byte(r.Err))
	dst = appendBytes(dst, []byte(r.Msg))
	var flags byte
	if r.Written {
		flags |= flagWritten
	}
	dst = append(dst, flags)
	return appendBytes(dst, r.Reply)
}

func (d *decoder) doc(m *DocRequest) {
	m.Op = DocOp(d.byte("doc op"))
	if d.err == nil && (m.Op == 0 || m.Op > maxDocOp) {
		d.fail(fmt.Sprintf("unknown doc op %d", m.Op))
	}
	m.Key = d.bytes("doc key")
	m.Path = d.bytes("doc path")
	if n := d.count("doc values", 1); n > 0 {
		m.Values = make([][]byte, n)
		for i := range m.Values {
			m.Values[i] = d.bytes("doc value")
		}
	}
	m.Index = d.varint("doc index")
	m.Stop = d.varint("doc stop")
	f := d.flags("doc flags", flagNX|flagXX)
	m.NX = f&flagNX != 0
	m.XX = f&flagXX != 0
}

func (d *decoder) docResult() *DocResult {
	r := &DocResult{}
	if e := d.bytes("doc error"); len(e) > 0 {
		r.Err = string(e)
	}
	if e := d.bytes("doc message"); len(e) > 0 {
		r.Msg = string(e)
	}
	r.Written = d.flags("doc result flags", flagWritten)&flagWritten != 0
	r.Reply = d.bytes("doc reply")
	return r
}
