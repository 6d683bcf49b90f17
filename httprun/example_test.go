package httprun_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/courierapp/courier/httprun"
	"github.com/courierapp/courier/model"
)

func ExampleRunner_Send() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"user":"`+r.URL.Query().Get("name")+`","auth":"`+r.Header.Get("Authorization")+`"}`)
	}))
	defer srv.Close()

	r := httprun.New(httprun.Options{FollowRedirects: true})
	defer r.Close()
	req := model.Request{
		Method: "GET",
		URL:    "{{base}}/users?name={{name}}",
		Auth:   model.Auth{Type: model.AuthBearer},
	}
	req.Auth.SetParam("token", "{{token}}")
	scope := httprun.Scope{
		Globals:     map[string]string{"name": "global"},
		Environment: map[string]string{"base": srv.URL, "name": "ada", "token": "t0k"},
	}
	if missing := httprun.Unresolved(req, scope); len(missing) > 0 {
		fmt.Println("undefined:", missing)
		return
	}
	res, err := r.Send(context.Background(), req, scope)
	var e *httprun.Error
	if errors.As(err, &e) {
		fmt.Println(e.Kind, e) // e.g. dns: cannot resolve host "nope.invalid"
		return
	}
	pretty, _ := httprun.PrettyJSON(res.Body)
	fmt.Println(res.Response.Status, res.Response.ContentType, res.Binary)
	fmt.Println(string(pretty))
	// Output:
	// 200 application/json false
	// {
	//   "user": "ada",
	//   "auth": "Bearer t0k"
	// }
}

func ExampleWithQuery() {
	u := "{{base}}/search?q={{term}}&page=2#results"
	params := httprun.ParseQuery(u)
	fmt.Println(params[0].Key, params[0].Value, params[1].Key, params[1].Value)
	params[1].Disabled = true
	params = append(params, model.KV{Key: "sort", Value: "a&b"})
	fmt.Println(httprun.WithQuery(u, params))
	// Output:
	// q {{term}} page 2
	// {{base}}/search?q={{term}}&sort=a%26b#results
}
