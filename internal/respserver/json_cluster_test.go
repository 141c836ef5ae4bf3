package respserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/internal/testcluster"
	"github.com/redis/go-redis/v9"
)

// TestClusterGoRedisJSON runs go-redis's JSON commands against a 3-node
// cluster, then many clients on every node increment and append to one
// document concurrently: no update may be lost.
func TestClusterGoRedisJSON(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{})
	rdbs := clients(t, c, 2)
	ctx := context.Background()
	t.Run("commands", func(t *testing.T) { testJSONCommands(t, ctx, rdbs) })
	t.Run("concurrent", func(t *testing.T) { testJSONConcurrent(t, ctx, rdbs) })
}

func testJSONCommands(t *testing.T, ctx context.Context, rdbs []*redis.Client) {
	w, r := rdbs[0], rdbs[1]
	eq(t, "JSON.SET", must(w.JSONSet(ctx, "j:user", "$", `{"name":"ann","age":31,"tags":["a"],"ok":true}`).Result()), "OK")
	eq(t, "JSON.GET $.name", must(r.JSONGet(ctx, "j:user", "$.name").Result()), `["ann"]`)
	eq(t, "JSON.GET .age", must(r.JSONGet(ctx, "j:user", ".age").Result()), `31`)
	eq(t, "JSON.GET /tags/0", must(r.JSONGet(ctx, "j:user", "/tags/0").Result()), `"a"`)
	eq(t, "TYPE", must(r.Type(ctx, "j:user").Result()), "ReJSON-RL")
	types := must(r.JSONType(ctx, "j:user", "$.age").Result())
	eq(t, "JSON.TYPE", fmt.Sprint(types), "[integer]")
	eq(t, "JSON.ARRAPPEND", fmt.Sprint(must(w.JSONArrAppend(ctx, "j:user", "$.tags", `"b"`, `"c"`).Result())), "[3]")
	eq(t, "JSON.ARRLEN", fmt.Sprint(must(r.JSONArrLen(ctx, "j:user", "$.tags").Result())), "[3]")
	eq(t, "JSON.NUMINCRBY", must(w.JSONNumIncrBy(ctx, "j:user", "$.age", 1).Result()), "[32]")
	eq(t, "JSON.MERGE", must(w.JSONMerge(ctx, "j:user", "$", `{"ok":null,"city":"Oslo"}`).Result()), "OK")
	keys := must(r.JSONObjKeys(ctx, "j:user", "$").Result())
	eq(t, "JSON.OBJKEYS", fmt.Sprint(keys), "[[name age tags city]]")
	eq(t, "JSON.STRLEN", *must(r.JSONStrLen(ctx, "j:user", "$.city").Result())[0], int64(4))
	eq(t, "JSON.SET new key", must(w.JSONSet(ctx, "j:other", "$", `{"name":"bob"}`).Result()), "OK")
	mget := must(r.JSONMGet(ctx, "$.name", "j:user", "j:other", "j:none").Result())
	eq(t, "JSON.MGET", fmt.Sprint(mget), `[["ann"] ["bob"] <nil>]`)
	eq(t, "JSON.DEL path", must(w.JSONDel(ctx, "j:user", "$.tags[0]").Result()), int64(1))
	eq(t, "JSON.GET after del", must(r.JSONGet(ctx, "j:user", "$.tags").Result()), `[["b","c"]]`)
	if _, err := r.Get(ctx, "j:user").Result(); err == nil || err.Error() != "WRONGTYPE Operation against a key holding the wrong kind of value" {
		t.Fatalf("GET of a document: %v", err)
	}
	// The string commands that return the previous value answer
	// WRONGTYPE on a document and leave it alone, as Redis; alone and in
	// MULTI, where the other commands still apply.
	const wrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"
	doc := must(r.JSONGet(ctx, "j:user", "$").Result())
	for name, cmd := range map[string]redis.Cmder{
		"SET GET":       w.SetArgs(ctx, "j:user", "v", redis.SetArgs{Get: true}),
		"SET GET EX":    w.SetArgs(ctx, "j:user", "v", redis.SetArgs{Get: true, TTL: time.Hour}),
		"SET GET XX":    w.SetArgs(ctx, "j:user", "v", redis.SetArgs{Get: true, Mode: "XX"}),
		"GETSET":        w.GetSet(ctx, "j:user", "v"),
		"GETDEL":        w.GetDel(ctx, "j:user"),
		"SET GET multi": multiSecond(ctx, w, func(p redis.Pipeliner) { p.SetArgs(ctx, "j:user", "v", redis.SetArgs{Get: true}) }),
		"GETDEL multi":  multiSecond(ctx, w, func(p redis.Pipeliner) { p.GetDel(ctx, "j:user") }),
	} {
		if err := cmd.Err(); err == nil || err.Error() != wrongType {
			t.Fatalf("%s of a document: %v, want WRONGTYPE", name, err)
		}
		eq(t, name+": the document after", must(r.JSONGet(ctx, "j:user", "$").Result()), doc)
		eq(t, name+": TTL after", must(r.TTL(ctx, "j:user").Result()), time.Duration(-1))
	}
	eq(t, "MULTI: the commands around the failed one applied", must(r.Get(ctx, "j:multi").Result()), "4")
	eq(t, "JSON.DEL root", must(w.JSONDel(ctx, "j:user", "$").Result()), int64(1))
	eq(t, "EXISTS", must(r.Exists(ctx, "j:user").Result()), int64(0))

	// The rest of the family, one line each (written on one node, read on
	// another).
	ptrs := func(v []*int64) string { // IntPointerSliceCmd: nil or the value
		out := make([]string, len(v))
		for i, p := range v {
			out[i] = "nil"
			if p != nil {
				out[i] = fmt.Sprint(*p)
			}
		}
		return fmt.Sprint(out)
	}
	stop := 1
	eq(t, "JSON.SET ops", must(w.JSONSet(ctx, "j:ops", "$", `{"a":[1,2,3],"s":"ab","n":2,"t":true,"o":{"k":1,"m":2}}`).Result()), "OK")
	eq(t, "JSON.ARRINSERT", fmt.Sprint(must(w.JSONArrInsert(ctx, "j:ops", "$.a", 1, `"x"`).Result())), "[4]")
	eq(t, "JSON.ARRINDEX", fmt.Sprint(must(r.JSONArrIndex(ctx, "j:ops", "$.a", `"x"`).Result())), "[1]")
	eq(t, "JSON.ARRPOP", fmt.Sprint(must(w.JSONArrPop(ctx, "j:ops", "$.a", 0).Result())), "[1]")
	eq(t, "JSON.ARRTRIM", fmt.Sprint(must(w.JSONArrTrimWithArgs(ctx, "j:ops", "$.a", &redis.JSONArrTrimArgs{Start: 0, Stop: &stop}).Result())), "[2]")
	eq(t, "JSON.NUMMULTBY", fmt.Sprint(must(w.Do(ctx, "JSON.NUMMULTBY", "j:ops", "$.n", 3).Result())), "[6]")
	eq(t, "JSON.STRAPPEND", ptrs(must(w.JSONStrAppend(ctx, "j:ops", "$.s", `"cd"`).Result())), "[4]")
	eq(t, "JSON.OBJLEN", ptrs(must(r.JSONObjLen(ctx, "j:ops", "$.o").Result())), "[2]")
	eq(t, "JSON.TOGGLE", ptrs(must(w.JSONToggle(ctx, "j:ops", "$.t").Result())), "[0]")
	eq(t, "JSON.CLEAR", must(w.JSONClear(ctx, "j:ops", "$.o").Result()), int64(1))
	eq(t, "JSON.FORGET", must(w.JSONForget(ctx, "j:ops", "$.s").Result()), int64(1))
	eq(t, "JSON.GET INDENT", must(r.JSONGetWithArgs(ctx, "j:ops", &redis.JSONGetArgs{Indent: "  ", Newline: "\n", Space: " "}, ".").Result()),
		"{\n  \"a\": [\n    \"x\",\n    2\n  ],\n  \"n\": 6,\n  \"t\": false,\n  \"o\": {}\n}")
}

func testJSONConcurrent(t *testing.T, ctx context.Context, rdbs []*redis.Client) {
	const key = "j:counter"
	if _, err := rdbs[0].JSONSet(ctx, key, "$", `{"n":0,"log":[]}`).Result(); err != nil {
		t.Fatal(err)
	}
	const perNode, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, len(rdbs)*perNode)
	for i, rdb := range rdbs {
		for g := range perNode {
			wg.Add(1)
			go func(id int) {
				defer wg.Done()
				for j := range each {
					if _, err := rdb.JSONNumIncrBy(ctx, key, "$.n", 1).Result(); err != nil {
						errs <- err
						return
					}
					// Every other append goes through a pipeline.
					if j%2 == 0 {
						if _, err := rdb.JSONArrAppend(ctx, key, "$.log", id*1000+j).Result(); err != nil {
							errs <- err
							return
						}
						continue
					}
					p := rdb.Pipeline()
					p.JSONArrAppend(ctx, key, "$.log", id*1000+j)
					if _, err := p.Exec(ctx); err != nil {
						errs <- err
						return
					}
				}
			}(i*perNode + g)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := len(rdbs) * perNode * each
	for _, rdb := range rdbs {
		text := must(rdb.JSONGet(ctx, key).Result())
		var doc struct {
			N   int   `json:"n"`
			Log []int `json:"log"`
		}
		if err := json.Unmarshal([]byte(text), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.N != total || len(doc.Log) != total {
			t.Fatalf("n = %d, %d log entries; want %d of each", doc.N, len(doc.Log), total)
		}
		slices.Sort(doc.Log)
		if len(slices.Compact(doc.Log)) != total {
			t.Fatalf("duplicate log entries")
		}
	}
}

// multiSecond runs INCR j:multi, the command queued by second, INCR
// j:multi in one MULTI and returns the second command's result.
func multiSecond(ctx context.Context, rdb *redis.Client, second func(redis.Pipeliner)) redis.Cmder {
	var cmds []redis.Cmder
	cmds, _ = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, "j:multi")
		second(p)
		p.Incr(ctx, "j:multi")
		return nil
	})
	return cmds[1]
}
