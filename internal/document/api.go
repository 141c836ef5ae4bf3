package document

// GetPath returns the values path selects in doc (aliasing doc).
func GetPath(doc *Value, path string) ([]*Value, error) {
	p, err := ParsePath(path)
	if err != nil {
		return nil, err
	}
	return p.Find(doc)
}

// SetPath sets v at path: every value the path selects is replaced by a
// copy of v, or, if it selects nothing, a member is added to each object
// its parent path selects when the last segment is a member name. Setting
// at a path that cannot be created is ErrNoPath. It returns the new root
// (v itself for the root path) and modifies doc in place.
func SetPath(doc *Value, path string, v *Value) (*Value, error) {
	p, err := ParsePath(path)
	if err != nil {
		return nil, err
	}
	if doc == nil && !p.IsRoot() {
		return nil, errorf(CodeNewAtRoot, "new objects must be created at the root")
	}
	p.Multi = false // a path that selects nothing is an error
	nd, _, _, err := Apply(doc, &Op{Kind: OpSet, Path: p, Values: []*Value{v}})
	return nd, err
}

// DeletePath deletes what path selects and returns the new root (nil when
// the root itself was deleted) and the number of values deleted.
func DeletePath(doc *Value, path string) (*Value, int, error) {
	p, err := ParsePath(path)
	if err != nil {
		return nil, 0, err
	}
	nd, r, _, err := Apply(doc, &Op{Kind: OpDel, Path: p})
	return nd, int(r.Int), err
}
