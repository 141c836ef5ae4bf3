package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/cairndb/cairn/client"
	"github.com/cairndb/cairn/internal/httpapi"
	"github.com/cairndb/cairn/internal/httpapi/httpapitest"
)

func Example() {
	// A stand-in node; use your cluster's addresses instead.
	srv := httptest.NewServer(httpapi.New(httpapitest.NewService(), httpapi.Options{}))
	defer srv.Close()

	c, err := client.New(client.Config{Endpoints: []string{srv.URL}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	if _, err := c.Put(ctx, []byte("greeting"), []byte("hello")); err != nil {
		log.Fatal(err)
	}
	resp, err := c.Get(ctx, []byte("greeting"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s = %s (version %d)\n", resp.KVs[0].Key, resp.KVs[0].Value, resp.KVs[0].Version)

	// Compare-and-swap.
	txn, err := c.Txn(ctx).
		If(client.Compare(client.Value([]byte("greeting")), "=", "hello")).
		Then(client.OpPut([]byte("greeting"), []byte("bonjour"))).
		Commit()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("swapped:", txn.Succeeded)

	_, err = c.Get(ctx, []byte("missing"))
	fmt.Println("missing:", errors.Is(err, client.ErrKeyNotFound))
	// Output:
	// greeting = hello (version 1)
	// swapped: true
	// missing: true
}
