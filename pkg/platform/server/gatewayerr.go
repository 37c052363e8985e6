package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/posimport/posimport/pkg/platform/apierr"
)

// The gateway's own refusals (a body, path parameter or query parameter it cannot decode)
// get the services' error contract: InvalidArgument with a BadRequest detail naming the
// field, and a message a person can act on instead of a Go parser's text. A body is refused
// when it is empty, as gRPC refuses a request without its required message: the generated
// gateway would decode nothing into an empty message and go on.

// bodyFailure is why decodeBody refused a body.
type bodyFailure struct {
	// target is the message the body was decoded into: the request (body "*") or one field.
	target protoreflect.MessageDescriptor
	// field is the field at fault inside the body (proto name), "" for the body as a whole.
	field   string
	message string
}

func (f *bodyFailure) Error() string { return f.message }

// apiError names the field at fault as seen from the request: bodyField (the request field
// the body fills, "" for the whole request) joined with the field inside the body.
func (f *bodyFailure) apiError(bodyField string) error {
	field := f.field
	switch {
	case bodyField != "" && field != "":
		field = bodyField + "." + field
	case bodyField != "":
		field = bodyField
	case field == "":
		field = "body"
	}
	return apierr.InvalidMessage(field, f.message)
}

var protoMessageType = reflect.TypeFor[proto.Message]()

// decodeBody decodes a REST body into v: the request (body "*") or a pointer to one of its
// message fields. It refuses an empty or null body and anything protojson refuses (unknown
// fields, wrong types, trailing data), and notes the reason on the restBody.
func decodeBody(r io.Reader, opts protojson.UnmarshalOptions, v any) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, set := decodeTarget(v)
	if msg == nil {
		// Not a message (no route has such a body): the gateway's own decoding.
		return (&runtime.JSONPb{UnmarshalOptions: opts}).NewDecoder(bytes.NewReader(data)).Decode(v)
	}
	fail := func(field, message string) error {
		f := &bodyFailure{target: msg.ProtoReflect().Descriptor(), field: field, message: message}
		if rb, ok := r.(*restBody); ok {
			rb.failure = f
		}
		return f
	}
	if trimmed := bytes.TrimSpace(data); len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return fail("", "required: send a JSON object (at least {})")
	}
	if err := opts.Unmarshal(data, msg); err != nil {
		field, message := describeProtoJSONError(msg.ProtoReflect().Descriptor(), err)
		return fail(field, message)
	}
	set()
	return nil
}

// decodeTarget returns the message to decode into and what puts it in place: v itself, or a
// new message for a **T (a body field), set only once the whole body decoded.
func decodeTarget(v any) (proto.Message, func()) {
	if m, ok := v.(proto.Message); ok {
		return m, func() {}
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Pointer || !rv.Elem().Type().Implements(protoMessageType) {
		return nil, nil
	}
	fresh := reflect.New(rv.Elem().Type().Elem())
	return fresh.Interface().(proto.Message), func() { rv.Elem().Set(fresh) }
}

var (
	protoJSONPosition = regexp.MustCompile(`(?s)^proto:\s*(?:syntax error\s*)?\((line \d+:\d+)\):\s*(.*)$`)
	protoJSONInvalid  = regexp.MustCompile(`^invalid value for (\w+) (?:type|field) (\w+): (.*)$`)
	protoJSONField    = regexp.MustCompile(`^(unknown|duplicate) field "(.*)"$`)
)

// describeProtoJSONError turns a protojson error into the field at fault (inside md, proto
// name) and a message a person can act on.
func describeProtoJSONError(md protoreflect.MessageDescriptor, err error) (field, message string) {
	// protobuf-go writes "proto:" and a space or a no-break space, at random per build.
	text := strings.ReplaceAll(err.Error(), "\u00a0", " ")
	if strings.Contains(text, "unexpected EOF") {
		return "", "the body ends before its JSON value is complete"
	}
	m := protoJSONPosition.FindStringSubmatch(text)
	if m == nil {
		return "", "the body is not a JSON object of the request's fields"
	}
	where, reason := m[1], m[2]
	if f := protoJSONInvalid.FindStringSubmatch(reason); f != nil {
		name := protoName(md, f[2])
		if f[1] == "enum" {
			return name, "must be one of the enum's names or numbers, not " + apierr.Clip(f[3], apierr.MaxEcho) + " (" + where + ")"
		}
		return name, "must be a JSON " + jsonKind(f[1]) + ", not " + apierr.Clip(f[3], apierr.MaxEcho) + " (" + where + ")"
	}
	if f := protoJSONField.FindStringSubmatch(reason); f != nil {
		if f[1] == "unknown" {
			return protoName(md, f[2]), "no such field (" + where + ")"
		}
		return protoName(md, f[2]), "given more than once (" + where + ")"
	}
	return "", "the body is not valid JSON: " + apierr.Clip(reason, apierr.MaxEcho) + " (" + where + ")"
}

// protoName returns the proto name of the field md or one of its nested messages calls
// jsonName (protojson names fields by their JSON name in its errors), or jsonName itself.
func protoName(md protoreflect.MessageDescriptor, jsonName string) string {
	seen := map[protoreflect.FullName]bool{}
	var find func(md protoreflect.MessageDescriptor) string
	find = func(md protoreflect.MessageDescriptor) string {
		if seen[md.FullName()] {
			return ""
		}
		seen[md.FullName()] = true
		fields := md.Fields()
		if fd := fields.ByJSONName(jsonName); fd != nil {
			return string(fd.Name())
		}
		if fd := fields.ByName(protoreflect.Name(jsonName)); fd != nil {
			return string(fd.Name())
		}
		for i := range fields.Len() {
			if sub := fields.Get(i).Message(); sub != nil {
				if name := find(sub); name != "" {
					return name
				}
			}
		}
		return ""
	}
	if name := find(md); name != "" {
		return name
	}
	return jsonName
}

func jsonKind(protoKind string) string {
	switch protoKind {
	case "string", "bytes":
		return "string"
	case "bool":
		return "boolean (true or false)"
	case "message":
		return "object"
	default:
		return "number"
	}
}

// bodyField is the request field a REST body fills for the RPC of ctx: "" when the body is
// the whole request (body "*"), else the field of target's type.
func bodyField(ctx context.Context, target protoreflect.MessageDescriptor) string {
	method, ok := runtime.RPCMethod(ctx)
	if !ok {
		return ""
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(method, "/"), "/", ".")))
	md, ok := d.(protoreflect.MethodDescriptor)
	if err != nil || !ok || md.Input().FullName() == target.FullName() {
		return ""
	}
	fields := md.Input().Fields()
	for i := range fields.Len() {
		if sub := fields.Get(i).Message(); sub != nil && sub.FullName() == target.FullName() {
			return string(fields.Get(i).Name())
		}
	}
	return ""
}

// gatewayError is the gateway's error handler: the decoder's refusals and the gateway's
// parameter errors get the services' contract (above), and a 401 carries an RFC 6750
// challenge instead of the error's text. The rest is the gateway's default handling.
func gatewayError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if rb, ok := r.Body.(*restBody); ok && rb.failure != nil {
		err = rb.failure.apiError(bodyField(ctx, rb.failure.target))
	} else {
		err = rewriteParameterError(err)
	}
	st, _ := apierr.ToStatus(err)
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, &challengeWriter{ResponseWriter: w}, r, st.Err())
}

// challengeWriter replaces the gateway's WWW-Authenticate (the error's text) on a 401.
type challengeWriter struct{ http.ResponseWriter }

func (w *challengeWriter) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="posimport", error="invalid_token"`)
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap is for http.ResponseController.
func (w *challengeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// The generated gateway's parameter errors, as it words them.
var (
	gwTypeMismatch = regexp.MustCompile(`^type mismatch, parameter: ([\w.]+), error: (.*)$`)
	gwMissing      = regexp.MustCompile(`^missing parameter ([\w.]+)$`)
	gwParsing      = regexp.MustCompile(`^parsing (?:field|list|map key|map value) "([\w.]+)": (.*)$`)
	gwTooMany      = regexp.MustCompile(`^too many values for field "([\w.]+)"`)
	gwQuery        = regexp.MustCompile(`^invalid (?:URL escape|semicolon separator)`)
	strconvError   = regexp.MustCompile(`strconv\.Parse(Int|Uint|Float|Bool): parsing ("(?:[^"\\]|\\.)*"): (invalid syntax|value out of range)`)
	quotedValue    = regexp.MustCompile(`("(?:[^"\\]|\\.)*") is not a valid value`)
)

// rewriteParameterError gives a path or query parameter error of the generated gateway (an
// InvalidArgument without details) the field it is about; other errors pass unchanged.
func rewriteParameterError(err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument || len(st.Details()) > 0 {
		return err
	}
	msg := st.Message()
	if m := gwTypeMismatch.FindStringSubmatch(msg); m != nil {
		return apierr.InvalidMessage(m[1], describeValueError(m[2]))
	}
	if m := gwMissing.FindStringSubmatch(msg); m != nil {
		return apierr.Invalid(m[1], "required")
	}
	if m := gwParsing.FindStringSubmatch(msg); m != nil {
		return apierr.InvalidMessage(m[1], describeValueError(m[2]))
	}
	if m := gwTooMany.FindStringSubmatch(msg); m != nil {
		return apierr.Invalid(m[1], "given more than once")
	}
	if gwQuery.MatchString(msg) {
		return apierr.Invalid("query", "the query string is not valid URL encoding")
	}
	return err
}

// describeValueError words a parameter's parse error.
func describeValueError(text string) string {
	if m := strconvError.FindStringSubmatch(text); m != nil {
		v, err := strconv.Unquote(m[2])
		if err != nil {
			v = m[2]
		}
		v = strconv.Quote(apierr.Clip(v, apierr.MaxEcho))
		switch {
		case m[3] == "value out of range":
			return v + " is out of range"
		case m[1] == "Bool":
			return v + " is not true or false"
		case m[1] == "Float":
			return v + " is not a number"
		default:
			return v + " is not a whole number"
		}
	}
	if m := quotedValue.FindStringSubmatch(text); m != nil {
		return apierr.Clip(m[1], apierr.MaxEcho) + " is not one of the allowed values"
	}
	return "is not a valid value"
}
