package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// fakeFetcher serves fixed secrets and parameters.
type fakeFetcher struct {
	secrets, params map[string]string
	calls           int
}

func (f *fakeFetcher) secret(_ context.Context, id string) (string, error) {
	f.calls++
	if v, ok := f.secrets[id]; ok {
		return v, nil
	}
	return "", errors.New("ResourceNotFoundException")
}

func (f *fakeFetcher) parameter(_ context.Context, name string) (string, error) {
	f.calls++
	if v, ok := f.params[name]; ok {
		return v, nil
	}
	return "", errors.New("ParameterNotFound")
}

func TestResolveSecrets(t *testing.T) {
	f := &fakeFetcher{
		secrets: map[string]string{"arn:pg": "postgres://weft:s3cret@db/weft", "arn:json": `{"url":"redis://:pw@cache:6379/0","n":1}`},
		params:  map[string]string{"/weft/dsn": "weft:pw@tcp(db)/weft"},
	}
	newF := func(context.Context) (fetcher, error) { return f, nil }
	t.Setenv("WEFT_POSTGRES_URL_SECRET_ARN", "arn:pg")
	t.Setenv("WEFT_REDIS_URL_SECRET_ARN", "arn:json#url")
	t.Setenv("WEFT_MYSQL_DSN_SSM_PARAMETER", "/weft/dsn")
	got, err := resolveSecrets(context.Background(), os.Environ(), newF)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"WEFT_POSTGRES_URL": "postgres://weft:s3cret@db/weft", "WEFT_REDIS_URL": "redis://:pw@cache:6379/0", "WEFT_MYSQL_DSN": "weft:pw@tcp(db)/weft"}
	if len(got) != len(want) {
		t.Fatalf("got %d values, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s resolved wrong", k)
		}
	}
	for _, k := range []string{"WEFT_POSTGRES_URL_SECRET_ARN", "WEFT_REDIS_URL_SECRET_ARN", "WEFT_MYSQL_DSN_SSM_PARAMETER"} {
		if _, set := os.LookupEnv(k); set {
			t.Errorf("%s is still in the environment", k)
		}
	}
}

func TestResolveSecretsErrors(t *testing.T) {
	f := &fakeFetcher{secrets: map[string]string{"arn:text": "plain"}}
	newF := func(context.Context) (fetcher, error) { return f, nil }
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"WEFT_POSTGRES_URL_SECRET_ARN": "arn:missing"}, "WEFT_POSTGRES_URL_SECRET_ARN: arn:missing: ResourceNotFoundException"},
		{map[string]string{"WEFT_POSTGRES_URL_SECRET_ARN": "arn:text#url"}, `no JSON object, so it has no key "url"`},
		{map[string]string{"WEFT_POSTGRES_URL_SECRET_ARN": "arn:text", "WEFT_POSTGRES_URL_SSM_PARAMETER": "/p"}, "both name where WEFT_POSTGRES_URL is kept"},
		{map[string]string{"WEFT_POSTGRES_URL_SECRET_ARN": "arn:text", "WEFT_POSTGRES_URL": "postgres://x"}, "WEFT_POSTGRES_URL is set, and WEFT_POSTGRES_URL_SECRET_ARN names a secret for it too"},
		{map[string]string{"WEFT_POSTGRES_URL_SECRET_ARN": " "}, "WEFT_POSTGRES_URL_SECRET_ARN is empty"},
		{map[string]string{"WEFT_POSTGRES_URL_SECRET_ARN": "arn:text", "WEFT_POSTGRES_URL_FILE": "/run/pg"}, "WEFT_POSTGRES_URL_FILE is set, and WEFT_POSTGRES_URL_SECRET_ARN names a secret"},
	} {
		var environ []string
		for k, v := range tc.env {
			environ = append(environ, k+"="+v)
			t.Setenv(k, v)
		}
		_, err := resolveSecrets(context.Background(), environ, newF)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.env, err, tc.want)
		}
		for k := range tc.env {
			os.Unsetenv(k)
		}
	}
	// Nothing to read: no AWS configuration is loaded at all.
	none := func(context.Context) (fetcher, error) { return nil, errors.New("must not be called") }
	if got, err := resolveSecrets(context.Background(), []string{"WEFT_STORAGE=postgres"}, none); err != nil || len(got) != 0 {
		t.Errorf("no secrets: %v, %v", got, err)
	}
}

// TestAWSFetcher reads through the SDK clients from fake Secrets Manager
// and SSM endpoints (AWS_ENDPOINT_URL_*), as an emulator would serve them.
func TestAWSFetcher(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in map[string]any
		_ = json.Unmarshal(body, &in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		switch r.Header.Get("X-Amz-Target") {
		case "secretsmanager.GetSecretValue":
			if in["SecretId"] != "arn:aws:secretsmanager:eu-west-1:1:secret:pg" {
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`)
				return
			}
			_, _ = io.WriteString(w, `{"ARN":"arn:aws:secretsmanager:eu-west-1:1:secret:pg","Name":"pg","SecretString":"postgres://u:p@h/db"}`)
		case "AmazonSSM.GetParameter":
			if in["WithDecryption"] != true {
				w.WriteHeader(400)
				return
			}
			_, _ = io.WriteString(w, `{"Parameter":{"Name":"/weft/url","Type":"SecureString","Value":"redis://h:6379/0"}}`)
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", srv.URL)
	t.Setenv("AWS_ENDPOINT_URL_SSM", srv.URL)
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("WEFT_POSTGRES_URL_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:1:secret:pg")
	t.Setenv("WEFT_REDIS_URL_SSM_PARAMETER", "/weft/url")
	got, err := resolveSecrets(context.Background(), os.Environ(), newFetcher)
	if err != nil {
		t.Fatal(err)
	}
	if got["WEFT_POSTGRES_URL"] != "postgres://u:p@h/db" || got["WEFT_REDIS_URL"] != "redis://h:6379/0" {
		t.Errorf("resolved %d values, not the served ones", len(got))
	}
	t.Setenv("WEFT_POSTGRES_URL_SECRET_ARN", "arn:other")
	if _, err := resolveSecrets(context.Background(), []string{"WEFT_POSTGRES_URL_SECRET_ARN=arn:other"}, newFetcher); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("missing secret: %v", err)
	}
}
