package client_test

import "github.com/cairndb/cairn/internal/command"

func testPut(k, v string) *command.PutRequest {
	return &command.PutRequest{Key: []byte(k), Value: []byte(v)}
}
