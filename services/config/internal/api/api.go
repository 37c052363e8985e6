// Package api implements the ConfigService RPCs: it validates requests, names the field at
// fault in every refusal, and writes nothing unless the whole request is valid.
package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/validate"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/config/internal/store"
)

// Defaults for a client's settings.
const (
	DefaultTimeZone    = "Europe/Copenhagen"
	DefaultConfirmTime = "05:00"
	maxRegisters       = 100
	// The intraday refresh's bounds, in minutes; 0 is off.
	minIntradayRefresh = 15
	maxIntradayRefresh = 240
)

// Policy is the ConfigService role table: writes need a supervisor of the client, reads any
// role with access to the client. The services read what they use: auth a client's settings
// (its provider, at consent) and departments (the department check), balance and the
// import-worker the whole configuration and the list of clients (auto-confirm, the nightly
// schedule).
var Policy = authn.Policy{
	posimportv1.ConfigService_GetClientSettings_FullMethodName:    {Roles: authn.Readers, Services: []string{authn.ServiceAuth}},
	posimportv1.ConfigService_UpdateClientSettings_FullMethodName: {Roles: authn.Supervisors},
	posimportv1.ConfigService_ListClients_FullMethodName:          {Roles: authn.Readers, Services: balanceAndImportWorker},
	posimportv1.ConfigService_ListDepartments_FullMethodName:      {Roles: authn.Readers, Services: []string{authn.ServiceAuth}},
	posimportv1.ConfigService_GetDepartment_FullMethodName:        {Roles: authn.Readers},
	posimportv1.ConfigService_PutDepartment_FullMethodName:        {Roles: authn.Supervisors},
	posimportv1.ConfigService_DeleteDepartment_FullMethodName:     {Roles: authn.Supervisors},
	posimportv1.ConfigService_ListFields_FullMethodName:           {Roles: authn.Readers},
	posimportv1.ConfigService_PutField_FullMethodName:             {Roles: authn.Supervisors},
	posimportv1.ConfigService_DeleteField_FullMethodName:          {Roles: authn.Supervisors},
	posimportv1.ConfigService_GetClientConfig_FullMethodName:      {Roles: authn.Readers, Services: balanceAndImportWorker},
}

var balanceAndImportWorker = []string{authn.ServiceBalance, authn.ServiceImportWorker}

// Server implements posimportv1.ConfigServiceServer.
type Server struct {
	posimportv1.UnimplementedConfigServiceServer
	store *store.Store
}

var _ posimportv1.ConfigServiceServer = (*Server)(nil)

// New returns the API over st.
func New(st *store.Store) *Server { return &Server{store: st} }

// GetClientSettings implements posimportv1.ConfigServiceServer.
func (s *Server) GetClientSettings(ctx context.Context, req *posimportv1.GetClientSettingsRequest) (*posimportv1.GetClientSettingsResponse, error) {
	row, found, err := s.store.Settings(ctx, req.GetClientId())
	if err != nil {
		return nil, apiError(err)
	}
	return &posimportv1.GetClientSettingsResponse{Settings: settingsToProto(req.GetClientId(), row, found)}, nil
}

// UpdateClientSettings implements posimportv1.ConfigServiceServer.
func (s *Server) UpdateClientSettings(ctx context.Context, req *posimportv1.UpdateClientSettingsRequest) (*posimportv1.UpdateClientSettingsResponse, error) {
	if err := validate.ID("client_id", req.GetClientId()); err != nil {
		return nil, err
	}
	in := req.GetSettings()
	if in == nil {
		return nil, apierr.Invalid("settings", "required")
	}
	p := store.Settings{
		ClientID:                 req.GetClientId(),
		MultiCashRegisters:       in.GetMultiCashRegisters(),
		PosImportEnabled:         in.GetPosImportEnabled(),
		PosProvider:              int16(in.GetPosProvider()),
		AutoConfirmWeeklyBalance: in.GetAutoConfirmWeeklyBalance(),
		ConfirmTime:              cmpOr(in.GetConfirmTime(), DefaultConfirmTime),
		TimeZone:                 cmpOr(in.GetTimeZone(), DefaultTimeZone),
		IntradayRefreshMinutes:   in.GetIntradayRefreshMinutes(),
	}
	if _, ok := posimportv1.PosProvider_name[int32(in.GetPosProvider())]; !ok {
		return nil, apierr.Invalid("settings.pos_provider", "unknown provider %d", in.GetPosProvider())
	}
	if p.PosImportEnabled && p.PosProvider == 0 {
		return nil, apierr.Invalid("settings.pos_provider", "required when POS import is enabled")
	}
	if p.PosImportEnabled && !p.MultiCashRegisters {
		return nil, apierr.Invalid("settings.multi_cash_registers", "POS import with Lightspeed requires multi cash registers")
	}
	if n := p.IntradayRefreshMinutes; n != 0 && (n < minIntradayRefresh || n > maxIntradayRefresh) {
		return nil, apierr.Invalid("settings.intraday_refresh_minutes", "%d: every %d to %d minutes, or 0 for off",
			n, minIntradayRefresh, maxIntradayRefresh)
	}
	if err := validate.ClockTime("settings.confirm_time", p.ConfirmTime); err != nil {
		return nil, err
	}
	if _, err := validate.TimeZone("settings.time_zone", p.TimeZone); err != nil {
		return nil, err
	}
	row, err := s.store.PutSettings(ctx, p)
	if err != nil {
		return nil, apiError(err)
	}
	return &posimportv1.UpdateClientSettingsResponse{Settings: settingsToProto(row.ClientID, row, true)}, nil
}

// ListClients implements posimportv1.ConfigServiceServer. People see only their clients.
func (s *Server) ListClients(ctx context.Context, req *posimportv1.ListClientsRequest) (*posimportv1.ListClientsResponse, error) {
	p, _ := authn.FromContext(ctx)
	size := req.GetPageSize()
	switch {
	case size < 0 || size > 1000:
		return nil, apierr.Invalid("page_size", "must be between 0 and 1000")
	case size == 0:
		size = 100
	}
	rows, err := s.store.ListClients(ctx, store.ClientQuery{
		After:                req.GetPageToken(),
		PosImportEnabledOnly: req.GetPosImportEnabledOnly(),
		AllClients:           p.IsService() && slices.Contains(p.Clients, authn.AllClients),
		ClientIDs:            p.Clients,
		Limit:                size + 1,
	})
	if err != nil {
		return nil, apiError(err)
	}
	resp := &posimportv1.ListClientsResponse{}
	if len(rows) > int(size) {
		rows = rows[:size]
		resp.NextPageToken = rows[len(rows)-1].ClientID
	}
	for _, r := range rows {
		resp.Clients = append(resp.Clients, settingsToProto(r.ClientID, r, true))
	}
	return resp, nil
}

// ListDepartments implements posimportv1.ConfigServiceServer.
func (s *Server) ListDepartments(ctx context.Context, req *posimportv1.ListDepartmentsRequest) (*posimportv1.ListDepartmentsResponse, error) {
	cc, err := s.store.ClientConfig(ctx, req.GetClientId())
	if err != nil {
		return nil, apiError(err)
	}
	return &posimportv1.ListDepartmentsResponse{Departments: departmentsToProto(cc)}, nil
}

// GetDepartment implements posimportv1.ConfigServiceServer.
func (s *Server) GetDepartment(ctx context.Context, req *posimportv1.GetDepartmentRequest) (*posimportv1.GetDepartmentResponse, error) {
	// Every stored id passed validate.ID; any other (a NUL byte, say) cannot exist and must
	// not reach Postgres, which refuses it with an internal error.
	if err := validate.ID("department_id", req.GetDepartmentId()); err != nil {
		return nil, err
	}
	row, err := s.store.Department(ctx, req.GetClientId(), req.GetDepartmentId())
	if err != nil {
		return nil, apiError(err)
	}
	settings, found, err := s.store.Settings(ctx, req.GetClientId())
	if err != nil {
		return nil, apiError(err)
	}
	return &posimportv1.GetDepartmentResponse{Department: departmentToProto(row, clientZone(settings, found))}, nil
}

// PutDepartment implements posimportv1.ConfigServiceServer.
func (s *Server) PutDepartment(ctx context.Context, req *posimportv1.PutDepartmentRequest) (*posimportv1.PutDepartmentResponse, error) {
	if err := validate.ID("department_id", req.GetDepartmentId()); err != nil {
		return nil, err
	}
	in := req.GetDepartment()
	if in == nil {
		return nil, apierr.Invalid("department", "required")
	}
	if err := validate.Name("department.name", in.GetName()); err != nil {
		return nil, err
	}
	if in.GetPosClientNumber() != "" {
		if err := validate.NumericID("department.pos_client_number", in.GetPosClientNumber()); err != nil {
			return nil, err
		}
	}
	regs := in.GetPosTerminalNumbers()
	if len(regs) > 0 && in.GetPosClientNumber() == "" {
		return nil, apierr.Invalid("department.pos_client_number", "required when POS terminal numbers are given")
	}
	if len(regs) > maxRegisters {
		return nil, apierr.Invalid("department.pos_terminal_numbers", "at most %d registers", maxRegisters)
	}
	seen := map[string]bool{}
	for i, r := range regs {
		field := fmt.Sprintf("department.pos_terminal_numbers[%d]", i)
		if err := validate.NumericID(field, r); err != nil {
			return nil, err
		}
		if seen[r] {
			return nil, apierr.Invalid(field, "register %s is listed twice", r)
		}
		seen[r] = true
	}
	if in.GetTimeZone() != "" {
		if _, err := validate.TimeZone("department.time_zone", in.GetTimeZone()); err != nil {
			return nil, err
		}
	}
	row, err := s.store.PutDepartment(ctx, store.Department{
		ClientID: req.GetClientId(), DepartmentID: req.GetDepartmentId(), Name: in.GetName(),
		PosClientNumber: in.GetPosClientNumber(), TimeZone: in.GetTimeZone(), RegisterIDs: nonNil(regs),
	})
	if err != nil {
		return nil, apiError(err)
	}
	settings, found, err := s.store.Settings(ctx, req.GetClientId())
	if err != nil {
		return nil, apiError(err)
	}
	return &posimportv1.PutDepartmentResponse{Department: departmentToProto(row, clientZone(settings, found))}, nil
}

// DeleteDepartment implements posimportv1.ConfigServiceServer.
func (s *Server) DeleteDepartment(ctx context.Context, req *posimportv1.DeleteDepartmentRequest) (*posimportv1.DeleteDepartmentResponse, error) {
	// Every stored id passed validate.ID; any other (a NUL byte, say) cannot exist and must
	// not reach Postgres, which refuses it with an internal error.
	if err := validate.ID("department_id", req.GetDepartmentId()); err != nil {
		return nil, err
	}
	if err := s.store.DeleteDepartment(ctx, req.GetClientId(), req.GetDepartmentId()); err != nil {
		return nil, apiError(err)
	}
	return &posimportv1.DeleteDepartmentResponse{}, nil
}

// ListFields implements posimportv1.ConfigServiceServer.
func (s *Server) ListFields(ctx context.Context, req *posimportv1.ListFieldsRequest) (*posimportv1.ListFieldsResponse, error) {
	rows, err := s.store.Fields(ctx, req.GetClientId())
	if err != nil {
		return nil, apiError(err)
	}
	return &posimportv1.ListFieldsResponse{Fields: fieldsToProto(rows)}, nil
}

// PutField implements posimportv1.ConfigServiceServer.
func (s *Server) PutField(ctx context.Context, req *posimportv1.PutFieldRequest) (*posimportv1.PutFieldResponse, error) {
	if req.GetFieldId() <= 0 {
		return nil, apierr.Invalid("field_id", "must be a positive number")
	}
	in := req.GetField()
	if in == nil {
		return nil, apierr.Invalid("field", "required")
	}
	if err := validate.Name("field.name", in.GetName()); err != nil {
		return nil, err
	}
	if _, ok := posimportv1.PosDataType_name[int32(in.GetPosDataType())]; !ok {
		return nil, apierr.Invalid("field.pos_data_type", "unknown POS data type %d", in.GetPosDataType())
	}
	row, err := s.store.PutField(ctx, store.Field{
		ClientID: req.GetClientId(), FieldID: req.GetFieldId(), Name: in.GetName(),
		PosDataType: int16(in.GetPosDataType()), SplitIntoIntervals: in.GetSplitIntoIntervals(),
	})
	if err != nil {
		return nil, apiError(err)
	}
	return &posimportv1.PutFieldResponse{Field: fieldToProto(row)}, nil
}

// DeleteField implements posimportv1.ConfigServiceServer.
func (s *Server) DeleteField(ctx context.Context, req *posimportv1.DeleteFieldRequest) (*posimportv1.DeleteFieldResponse, error) {
	if err := s.store.DeleteField(ctx, req.GetClientId(), req.GetFieldId()); err != nil {
		return nil, apiError(err)
	}
	return &posimportv1.DeleteFieldResponse{}, nil
}

// GetClientConfig implements posimportv1.ConfigServiceServer.
func (s *Server) GetClientConfig(ctx context.Context, req *posimportv1.GetClientConfigRequest) (*posimportv1.GetClientConfigResponse, error) {
	cc, err := s.store.ClientConfig(ctx, req.GetClientId())
	if err != nil {
		return nil, apiError(err)
	}
	return &posimportv1.GetClientConfigResponse{
		Settings:    settingsToProto(req.GetClientId(), cc.Settings, cc.SettingsFound),
		Departments: departmentsToProto(cc),
		Fields:      fieldsToProto(cc.Fields),
	}, nil
}

// apiError is the one place that turns the store's errors into the API's: a register, a shop
// counted twice or a POS data type taken is bad input in the field that asks for it, a
// missing row is NotFound.
// Anything else is returned as is and ends as Internal.
func apiError(err error) error {
	var (
		register *store.RegisterTakenError
		shop     *store.ShopOverlapError
		posType  *store.TypeTakenError
	)
	switch {
	case errors.As(err, &shop) && shop.Whole && len(shop.OtherRegisters) == 0:
		return apierr.Invalid("department.pos_client_number", "%v", shop)
	case errors.As(err, &shop):
		return apierr.Invalid("department.pos_terminal_numbers", "%v", shop)
	case errors.As(err, &register):
		return apierr.Invalid("department.pos_terminal_numbers", "%v; a register belongs to one department", register)
	case errors.As(err, &posType):
		return apierr.Invalid("field.pos_data_type", "%s is already assigned to field %d; a POS data type feeds one field",
			posimportv1.PosDataType(posType.PosDataType), posType.FieldID)
	case errors.Is(err, store.ErrNotFound):
		return apierr.NotFound("%v", err)
	case errors.Is(err, store.ErrAlreadyExists):
		return apierr.AlreadyExists("%v", store.ErrAlreadyExists)
	case errors.Is(err, store.ErrConstraint):
		return apierr.FailedPrecondition("%v", store.ErrConstraint)
	case errors.Is(err, store.ErrConcurrentUpdate):
		return apierr.Aborted("%v", store.ErrConcurrentUpdate)
	}
	return err
}

func settingsToProto(clientID string, r store.Settings, found bool) *posimportv1.ClientSettings {
	if !found {
		return &posimportv1.ClientSettings{ClientId: clientID, ConfirmTime: DefaultConfirmTime, TimeZone: DefaultTimeZone}
	}
	return &posimportv1.ClientSettings{
		ClientId:                 r.ClientID,
		MultiCashRegisters:       r.MultiCashRegisters,
		PosImportEnabled:         r.PosImportEnabled,
		PosProvider:              posimportv1.PosProvider(r.PosProvider),
		AutoConfirmWeeklyBalance: r.AutoConfirmWeeklyBalance,
		ConfirmTime:              r.ConfirmTime,
		TimeZone:                 r.TimeZone,
		IntradayRefreshMinutes:   r.IntradayRefreshMinutes,
		UpdateTime:               ts(r.UpdateTime),
	}
}

func clientZone(r store.Settings, found bool) string {
	if !found {
		return DefaultTimeZone
	}
	return r.TimeZone
}

func departmentsToProto(cc store.ClientConfig) []*posimportv1.Department {
	zone := clientZone(cc.Settings, cc.SettingsFound)
	out := make([]*posimportv1.Department, 0, len(cc.Departments))
	for _, d := range cc.Departments {
		out = append(out, departmentToProto(d, zone))
	}
	return out
}

func departmentToProto(d store.Department, clientZone string) *posimportv1.Department {
	return &posimportv1.Department{
		ClientId:           d.ClientID,
		DepartmentId:       d.DepartmentID,
		Name:               d.Name,
		PosClientNumber:    d.PosClientNumber,
		PosTerminalNumbers: d.RegisterIDs,
		TimeZone:           d.TimeZone,
		EffectiveTimeZone:  cmpOr(d.TimeZone, clientZone),
		UpdateTime:         ts(d.UpdateTime),
	}
}

func fieldsToProto(rows []store.Field) []*posimportv1.BalanceField {
	out := make([]*posimportv1.BalanceField, 0, len(rows))
	for _, r := range rows {
		out = append(out, fieldToProto(r))
	}
	return out
}

func fieldToProto(r store.Field) *posimportv1.BalanceField {
	return &posimportv1.BalanceField{
		ClientId:           r.ClientID,
		FieldId:            r.FieldID,
		Name:               r.Name,
		PosDataType:        posimportv1.PosDataType(r.PosDataType),
		SplitIntoIntervals: r.SplitIntoIntervals,
		UpdateTime:         ts(r.UpdateTime),
	}
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
