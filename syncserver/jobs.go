package syncserver

import (
	"context"
	"errors"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
)

// jobKind names the work the mail queue does after a request answered.
type jobKind string

const (
	jobSignUp             jobKind = "signup"
	jobResendConfirmation jobKind = "resend"
	jobForgotUsername     jobKind = "forgot_username"
	jobForgotPassword     jobKind = "forgot_password"
	jobNotice             jobKind = "notice"
)

// mailJob is queued work. Handlers that must not reveal whether an account
// exists queue the lookup too, so their answer and timing never depend on
// it.
type mailJob struct {
	kind   jobKind
	email  string
	signUp *syncproto.SignUpRequest
	msg    *Message
}

// enqueue queues j, or answers 503 when the queue is full (for every
// caller alike).
func (s *Server) enqueue(j mailJob) error {
	select {
	case s.mailq <- j:
		return nil
	default:
		s.metrics.mail.WithLabelValues(string(j.kind), "dropped").Inc()
		return apiErr(syncproto.CodeUnavailable, "the server is busy sending email; try again in a minute")
	}
}

func (s *Server) startMailWorkers(n int) {
	ctx, cancel := context.WithCancel(context.Background())
	s.mailCancel = cancel
	for range n {
		s.mailWG.Add(1)
		go func() {
			defer s.mailWG.Done()
			s.mailWorker(ctx)
		}()
	}
}

func (s *Server) mailWorker(ctx context.Context) {
	for {
		select {
		case j := <-s.mailq:
			s.runJob(ctx, j)
		case <-s.stopMail:
			for { // drain what is queued, then stop
				select {
				case j := <-s.mailq:
					s.runJob(ctx, j)
				default:
					return
				}
			}
		}
	}
}

// stopMailWorkers lets the workers drain the queue for up to timeout, then
// cancels what is still being sent.
func (s *Server) stopMailWorkers(timeout time.Duration) {
	s.closeOnce.Do(func() {
		close(s.stopMail)
		done := make(chan struct{})
		go func() { s.mailWG.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(timeout):
			s.mailCancel()
			<-done
		}
		s.mailCancel()
	})
}

// runJob does j's work and sends the resulting email, retrying delivery
// twice. Failures are logged (the request has long been answered).
func (s *Server) runJob(ctx context.Context, j mailJob) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	msg, err := s.prepare(ctx, j)
	if err != nil {
		s.log.Error("mail job failed", "job", j.kind, "err", err)
		s.metrics.mail.WithLabelValues(string(j.kind), "failed").Inc()
		return
	}
	if msg == nil {
		return // nothing to send (no such account): by design, silently
	}
	for attempt := 0; ; attempt++ {
		err = s.cfg.Mailer.Send(ctx, *msg)
		if err == nil || attempt == 2 || ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(time.Duration(1+attempt*4) * time.Second):
		case <-ctx.Done():
		}
	}
	if err != nil {
		s.log.Error("send mail failed", "kind", msg.Kind, hashAttr("to", msg.To), "err", err)
		s.metrics.mail.WithLabelValues(msg.Kind, "failed").Inc()
		return
	}
	s.log.Info("mail sent", "kind", msg.Kind, hashAttr("to", msg.To))
	s.metrics.mail.WithLabelValues(msg.Kind, "sent").Inc()
}

// prepare does the storage work of a job and returns the message to send,
// or nil when there is none.
func (s *Server) prepare(ctx context.Context, j mailJob) (*Message, error) {
	switch j.kind {
	case jobNotice:
		return j.msg, nil
	case jobSignUp:
		return s.prepareSignUp(ctx, j.signUp)
	}
	acct, err := s.store.AccountByEmail(ctx, j.email)
	if errors.Is(err, model.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	switch j.kind {
	case jobResendConfirmation:
		if acct.EmailConfirmed {
			return nil, nil
		}
		return s.confirmMessage(ctx, acct, false)
	case jobForgotUsername:
		m := s.usernameMail(acct)
		return &m, nil
	case jobForgotPassword:
		code := newResetCode()
		c := Code{Hash: s.codeHash(PurposeResetPassword, code), AccountID: acct.ID, Purpose: PurposeResetPassword, ExpiresAt: s.now().Add(syncproto.ResetCodeTTL)}
		if err := s.store.PutCode(ctx, c); err != nil {
			return nil, err
		}
		m := s.resetMail(acct, syncproto.FormatCode(code))
		return &m, nil
	}
	return nil, errors.New("unknown job " + string(j.kind))
}

func (s *Server) prepareSignUp(ctx context.Context, req *syncproto.SignUpRequest) (*Message, error) {
	acct := Account{ID: string(model.NewID()), Username: req.Username, Email: req.Email,
		Secrets: secretsOf(req.Credentials, req.RecoveryWrappedKey), CreatedAt: s.now()}
	err := s.store.CreateAccount(ctx, acct)
	switch {
	case errors.Is(err, ErrEmailTaken):
		existing, err := s.store.AccountByEmail(ctx, req.Email)
		if err != nil {
			return nil, err
		}
		return s.confirmMessage(ctx, existing, true)
	case errors.Is(err, ErrUsernameTaken):
		s.log.Warn("sign-up lost a race for its username", "username", req.Username)
		return nil, nil
	case err != nil:
		return nil, err
	}
	s.log.Info("account created", "account", acct.ID)
	return s.confirmMessage(ctx, acct, false)
}

// confirmMessage makes a confirmation link for an unconfirmed account, or
// for a taken address (exists) tells its owner that someone tried again.
func (s *Server) confirmMessage(ctx context.Context, acct Account, exists bool) (*Message, error) {
	link := ""
	if !acct.EmailConfirmed {
		token := newToken()
		c := Code{Hash: s.codeHash(PurposeConfirmEmail, token), AccountID: acct.ID, Purpose: PurposeConfirmEmail, ExpiresAt: s.now().Add(syncproto.ConfirmTokenTTL)}
		if err := s.store.PutCode(ctx, c); err != nil {
			return nil, err
		}
		link = s.confirmLink(token)
	}
	var m Message
	if exists {
		m = s.accountExistsMail(acct, link)
	} else {
		m = s.confirmMail(acct, link)
	}
	return &m, nil
}

// notify queues a security notice to the account's address; a full queue
// drops it with a log line (the change itself is done).
func (s *Server) notify(acct Account, n notice) {
	m := s.noticeMail(acct, n)
	if err := s.enqueue(mailJob{kind: jobNotice, msg: &m}); err != nil {
		s.log.Warn("notice dropped: mail queue full", "account", acct.ID, "kind", m.Kind)
	}
}
