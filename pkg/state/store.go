package state

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDBAPI is the part of the DynamoDB API the store uses.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	// PutItem and DeleteItem keep the work that waits across invocations
	// (pending.go).
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// The table's items. Per repository (the partition key pk) and environment,
// the current record is the item whose sort key sk is record#{environment},
// and each change of it the item change#{environment}#{revision}, the
// revision in 12 digits so that the sort order is the order of changes.
// Environment names have no '#'.
const (
	attrPK          = "pk"
	attrSK          = "sk"
	attrRevision    = "rev"
	attrRecord      = "record"   // the record's JSON
	attrRecordGz    = "recordGz" // or, for a large one, its JSON gzipped
	attrEnvironment = "environment"
	attrTime        = "time"
	attrClaimOwner  = "claimOwner"
	attrClaimUntil  = "claimUntil" // Unix milliseconds
	attrExpiresAt   = "expiresAt"  // Unix seconds: the table's time to live
)

// placeholders are the attribute names as expressions spell them, since
// some (record, environment, time) are words DynamoDB reserves.
var placeholders = map[string]string{
	"#pk": attrPK, "#sk": attrSK, "#rev": attrRevision, "#record": attrRecord, "#gz": attrRecordGz, "#env": attrEnvironment,
	"#t": attrTime, "#owner": attrClaimOwner, "#until": attrClaimUntil,
	"#value": attrPendingData, "#at": attrPendingAt,
}

var placeholderRE = regexp.MustCompile(`#[a-z]+`)

// names returns the ExpressionAttributeNames of expressions: those they
// use, since DynamoDB refuses a name that no expression uses.
func names(exprs ...string) map[string]string {
	out := map[string]string{}
	for _, e := range exprs {
		for _, p := range placeholderRE.FindAllString(e, -1) {
			out[p] = placeholders[p]
		}
	}
	return out
}

// BatchGetLimit is how many items one BatchGetItem call reads at most, as
// DynamoDB allows.
const BatchGetLimit = 100

// batchWriteLimit is how many items one BatchWriteItem call writes at most.
const batchWriteLimit = 25

// unprocessedRounds bounds how often a batch call is repeated for the items
// DynamoDB left unprocessed (it does so under load) before the read or
// write fails retryably.
const unprocessedRounds = 6

// Store reads and writes state records in a DynamoDB table (see the item
// layout above). Every write is conditional on the revision read, so no
// write is ever lost to another; the loser gets ErrConflict.
type Store struct {
	client DynamoDBAPI
	table  string
	// Legacy, when set, is where records of an earlier release are read
	// from and imported, the first time they are read here.
	Legacy *Legacy
	// Retention, when positive, is how long the table keeps each change
	// item (its expiresAt attribute, the table's time to live); zero keeps
	// them for ever.
	Retention time.Duration
	// Now is the store's clock (default time.Now).
	Now func() time.Time

	pacesMu sync.Mutex
	paces   map[string]*paceQueue // by pace name (pace.go)
}

// NewStore returns a Store on the table named table.
func NewStore(client DynamoDBAPI, table string) *Store {
	return &Store{client: client, table: table}
}

// WithoutLegacy returns a store of the same table that imports no record of
// an earlier release (a reader whose policy allows no write).
func (s *Store) WithoutLegacy() *Store {
	return &Store{client: s.client, table: s.table, Retention: s.Retention, Now: s.Now}
}

// Table returns the name of the store's table.
func (s *Store) Table() string { return s.table }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func recordSK(environment string) string { return "record#" + environment }

func changePrefix(environment string) string { return "change#" + environment + "#" }

func changeSK(environment string, revision int64) string {
	return fmt.Sprintf("%s%012d", changePrefix(environment), revision)
}

func itemKey(k Key, sk string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		attrPK: &ddbtypes.AttributeValueMemberS{Value: k.Repository},
		attrSK: &ddbtypes.AttributeValueMemberS{Value: sk},
	}
}

func str(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }

// changeItem is the item of change rev of an environment's record, made at
// at: its body in attr, and, with a Retention, the time the table lets it
// expire, counted from at.
func (s *Store) changeItem(k Key, rev int64, attr string, body ddbtypes.AttributeValue, at time.Time) map[string]ddbtypes.AttributeValue {
	item := itemKey(k, changeSK(k.Environment, rev))
	item[attrRevision], item[attr], item[attrEnvironment], item[attrTime] = num(rev), body, str(k.Environment), str(at.UTC().Format(time.RFC3339Nano))
	if s.Retention > 0 {
		item[attrExpiresAt] = num(at.Add(s.Retention).Unix())
	}
	return item
}

func num(n int64) ddbtypes.AttributeValue {
	return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func stringOf(item map[string]ddbtypes.AttributeValue, name string) string {
	if v, ok := item[name].(*ddbtypes.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func numberOf(item map[string]ddbtypes.AttributeValue, name string) (int64, bool) {
	v, ok := item[name].(*ddbtypes.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	return n, err == nil
}

// where names an item in errors: the table and the key.
func (s *Store) where(k Key) string {
	return fmt.Sprintf("state of %s in table %s", k, s.table)
}

// decodeItem returns the record a current-record item holds (found false
// when the item holds only a claim), with its revision and claim.
func (s *Store) decodeItem(k Key, item map[string]ddbtypes.AttributeValue) (Record, bool, error) {
	var rec Record
	rev, hasRev := numberOf(item, attrRevision)
	if hasRev {
		if err := decodeRecord(item, &rec); err != nil {
			return Record{}, false, fmt.Errorf("%s: revision %d is not a state record: %w", s.where(k), rev, err)
		}
		rec.Revision = rev
	}
	if owner := stringOf(item, attrClaimOwner); owner != "" {
		until, _ := numberOf(item, attrClaimUntil)
		rec.Claim = &Claim{Owner: owner, Until: time.UnixMilli(until).UTC()}
	}
	return rec, hasRev, nil
}

// translate returns err with what the store was doing and where; a table
// that does not exist says which setting names it.
func (s *Store) translate(action string, k Key, err error) error {
	return wrap(action, s.where(k), err)
}

// wrap returns err with what the store was doing (action) and to what
// (where); a table that does not exist says which setting names it.
func wrap(action, where string, err error) error {
	var missing *ddbtypes.ResourceNotFoundException
	if errors.As(err, &missing) {
		return fmt.Errorf("%s %s: the table does not exist (ECRDEPLOY_TABLE names it): %w", action, where, err)
	}
	return fmt.Errorf("%s %s: %w", action, where, err)
}

// Get returns the record of one environment, read consistently. It returns
// ErrNotFound (wrapped) when there is none, and an error naming the table
// and the environment when it cannot be read or decoded.
func (s *Store) Get(ctx context.Context, repository, environment string) (Record, error) {
	s.Legacy.prefetch()
	k := Key{Repository: repository, Environment: environment}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: itemKey(k, recordSK(environment)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Record{}, s.translate("read", k, err)
	}
	rec, found, err := s.decodeItem(k, out.Item)
	if err != nil || found {
		return rec, err
	}
	imported, err := s.importKeys(ctx, []Key{k})
	if err != nil {
		return Record{}, err
	}
	if rec, ok := imported[k]; ok {
		return rec, nil
	}
	return Record{}, fmt.Errorf("%s: %w", s.where(k), ErrNotFound)
}

// GetMany returns the records of several environments of one repository,
// reading up to BatchGetLimit per call. Environments without a record are
// absent from the map. When some records cannot be decoded it returns the
// others with an *Unreadable error saying which; any other error is a read
// that failed, and no records come with it.
func (s *Store) GetMany(ctx context.Context, repository string, environments []string) (map[string]Record, error) {
	keys := make([]Key, len(environments))
	for i, env := range environments {
		keys[i] = Key{Repository: repository, Environment: env}
	}
	got, err := s.GetKeys(ctx, keys)
	var bad *Unreadable
	if err != nil && !errors.As(err, &bad) {
		return nil, err
	}
	recs := make(map[string]Record, len(got))
	for k, rec := range got {
		recs[k.Environment] = rec
	}
	return recs, err
}

// GetKeys returns the records of environments of any repositories, reading
// BatchGetLimit per call whatever repository each belongs to, so that a
// reconcile reads a fleet's records in a hundredth as many calls.
// Environments without a record are absent from the map. When some records
// cannot be decoded it returns the others with an *Unreadable error saying
// which; any other error is a read that failed, and no records come with it.
func (s *Store) GetKeys(ctx context.Context, keys []Key) (map[Key]Record, error) {
	var bad *Unreadable
	recs := make(map[Key]Record, len(keys))
	var unique []Key
	seen := map[Key]bool{}
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			unique = append(unique, k)
		}
	}
	var missing []Key
	for chunk := range slices.Chunk(unique, BatchGetLimit) {
		items, err := s.batchGet(ctx, chunk)
		if err != nil {
			return nil, err
		}
		for _, k := range chunk {
			item, ok := items[k]
			if !ok {
				missing = append(missing, k)
				continue
			}
			rec, found, err := s.decodeItem(k, item)
			switch {
			case err != nil:
				bad = bad.add(k, err)
			case found:
				recs[k] = rec
			default:
				missing = append(missing, k)
			}
		}
	}
	imported, err := s.importKeys(ctx, missing)
	if err != nil {
		return nil, err
	}
	for k, rec := range imported {
		recs[k] = rec
	}
	if bad != nil {
		return recs, bad
	}
	return recs, nil
}

// batchGet reads the current-record items of up to BatchGetLimit keys,
// asking again for what DynamoDB leaves unprocessed.
func (s *Store) batchGet(ctx context.Context, keys []Key) (map[Key]map[string]ddbtypes.AttributeValue, error) {
	byItem := map[[2]string]Key{}
	var req []map[string]ddbtypes.AttributeValue
	for _, k := range keys {
		byItem[[2]string{k.Repository, recordSK(k.Environment)}] = k
		req = append(req, itemKey(k, recordSK(k.Environment)))
	}
	items := map[Key]map[string]ddbtypes.AttributeValue{}
	for round := 0; len(req) > 0; round++ {
		if round == unprocessedRounds {
			return nil, fmt.Errorf("read state of %d environments from table %s: DynamoDB left %d unprocessed after %d rounds", len(keys), s.table, len(req), round)
		}
		if round > 0 && !sleep(ctx, backoff(round)) {
			return nil, ctx.Err()
		}
		out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]ddbtypes.KeysAndAttributes{
			s.table: {Keys: req, ConsistentRead: aws.Bool(true)},
		}})
		if err != nil {
			return nil, s.translate("read", keys[0], err)
		}
		for _, item := range out.Responses[s.table] {
			if k, ok := byItem[[2]string{stringOf(item, attrPK), stringOf(item, attrSK)}]; ok {
				items[k] = item
			}
		}
		req = out.UnprocessedKeys[s.table].Keys
	}
	return items, nil
}

func backoff(round int) time.Duration { return time.Duration(25<<min(round, 6)) * time.Millisecond }

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// PutOption changes what Put requires and does besides writing.
type PutOption func(*putOptions)

type putOptions struct{ owner string }

// Releasing makes Put require that owner holds the environment's claim (or
// held it last: a claim that expired and that nobody took since still
// counts), and release it with the write, in one step.
func Releasing(owner string) PutOption {
	return func(o *putOptions) { o.owner = owner }
}

// Put writes a record as the change after rec.Revision (0: the first), and
// the item of that change, in one transaction. It returns the record as
// written, with its new revision. It returns ErrConflict (wrapped) when
// the record's revision is no longer rec.Revision (another writer came
// first), or a Releasing claim is no longer the owner's; the caller reads
// the record again and decides again.
func (s *Store) Put(ctx context.Context, rec Record, opts ...PutOption) (Record, error) {
	var o putOptions
	for _, f := range opts {
		f(&o)
	}
	k := Key{Repository: rec.Repository, Environment: rec.Environment}
	data, err := json.Marshal(rec)
	if err != nil {
		return rec, fmt.Errorf("encode %s: %w", s.where(k), err)
	}
	next := rec.Revision + 1
	now := s.now().UTC()
	attr, body, err := encodeRecord(data)
	if err != nil {
		return rec, fmt.Errorf("encode %s: %w", s.where(k), err)
	}
	values := map[string]ddbtypes.AttributeValue{
		":next": num(next), ":record": body, ":env": str(rec.Environment), ":time": str(now.Format(time.RFC3339Nano)),
	}
	cond := "attribute_not_exists(#rev)"
	if rec.Revision > 0 {
		cond = "#rev = :read"
		values[":read"] = num(rec.Revision)
	}
	update := "SET #rev = :next, " + recordSet(attr) + ", #env = :env, #t = :time REMOVE " + recordRemove(attr)
	if o.owner != "" {
		cond += " AND #owner = :owner"
		values[":owner"] = str(o.owner)
		update += ", #owner, #until"
	}
	change := s.changeItem(k, next, attr, body, now)
	tx := &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
		{Update: &ddbtypes.Update{
			TableName: aws.String(s.table), Key: itemKey(k, recordSK(rec.Environment)),
			UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
			ExpressionAttributeNames:  names(update, cond),
			ExpressionAttributeValues: values,
			// What stands, when the write loses: it may be this very
			// write, whose answer was lost and which the SDK sent again.
			ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		{Put: &ddbtypes.Put{
			TableName: aws.String(s.table), Item: change,
			ConditionExpression:      aws.String("attribute_not_exists(#sk)"),
			ExpressionAttributeNames: names("#sk"),
		}},
	}}
	err = s.transact(ctx, tx)
	if err != nil && !alreadyWritten(err, next, data) {
		if conditionFailed(err) {
			return rec, fmt.Errorf("write %s as revision %d: %w", s.where(k), next, ErrConflict)
		}
		return rec, s.translate("write", k, err)
	}
	rec.Revision = next
	if o.owner != "" {
		rec.Claim = nil
	}
	return rec, nil
}

// transact writes a transaction. One DynamoDB cancels for throttling
// (TransactionCanceledException with a ThrottlingError reason) is retried
// by the client's retryer, with its backoff, as any throttled call is
// (retryThrottledCancellations); the SDK does not retry a cancelled
// transaction of itself, since most are cancelled by a condition and must
// not be. One still cancelled so when the retryer gives up returns an
// error wrapping ErrThrottled: a retry of the invocation can succeed.
func (s *Store) transact(ctx context.Context, tx *dynamodb.TransactWriteItemsInput) error {
	_, err := s.client.TransactWriteItems(ctx, tx, retryThrottledCancellations)
	if throttled(err) {
		return fmt.Errorf("%w: %w", ErrThrottled, err)
	}
	return err
}

// retryThrottledCancellations makes a call's retryer retry a transaction
// DynamoDB cancelled for throttling, besides what it retries already.
func retryThrottledCancellations(o *dynamodb.Options) {
	switch r := o.Retryer.(type) {
	case aws.RetryerV2:
		o.Retryer = cancellationRetryerV2{r}
	case aws.Retryer:
		o.Retryer = cancellationRetryer{r}
	}
}

type cancellationRetryer struct{ aws.Retryer }

func (r cancellationRetryer) IsErrorRetryable(err error) bool {
	return throttled(err) || r.Retryer.IsErrorRetryable(err)
}

type cancellationRetryerV2 struct{ aws.RetryerV2 }

func (r cancellationRetryerV2) IsErrorRetryable(err error) bool {
	return throttled(err) || r.RetryerV2.IsErrorRetryable(err)
}

// throttled reports whether err is a transaction cancelled because DynamoDB
// throttled one of its writes ("TransactWriteItems", DynamoDB API
// Reference: the cancellation reason ThrottlingError).
func throttled(err error) bool {
	var tx *ddbtypes.TransactionCanceledException
	if !errors.As(err, &tx) {
		return false
	}
	for _, r := range tx.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
			return true
		}
	}
	return false
}

// ErrThrottled is a write DynamoDB kept refusing for throttling.
var ErrThrottled = errors.New("the state table throttled the write")

// alreadyWritten reports whether a write of a record as revision next
// failed only because it had already succeeded: the SDK retried it after an
// answer that was lost, and the record that stands is this one.
func alreadyWritten(err error, next int64, record []byte) bool {
	var tx *ddbtypes.TransactionCanceledException
	if !errors.As(err, &tx) || len(tx.CancellationReasons) == 0 {
		return false
	}
	item := tx.CancellationReasons[0].Item
	rev, ok := numberOf(item, attrRevision)
	stored, err := recordBytes(item)
	return ok && err == nil && rev == next && bytes.Equal(stored, record)
}

// compressAbove is the size of a record's JSON above which it is stored
// gzipped: DynamoDB's items hold 400 KB, and a record grows with the
// services of its environment (each about 1 KB of task definition ARNs,
// which compress tenfold), so that no number of services a configuration
// document can name makes a record too large to write.
const compressAbove = 64 << 10

// encodeRecord returns the attribute a record's JSON is stored in, and its
// value: the JSON as a string, or gzipped when it is large.
func encodeRecord(data []byte) (string, ddbtypes.AttributeValue, error) {
	if len(data) <= compressAbove {
		return attrRecord, str(string(data)), nil
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		return "", nil, err
	}
	if err := zw.Close(); err != nil {
		return "", nil, err
	}
	return attrRecordGz, &ddbtypes.AttributeValueMemberB{Value: buf.Bytes()}, nil
}

// recordSet and recordRemove are the parts of an update expression that
// set the record in the attribute attr, and remove it from the other.
func recordSet(attr string) string {
	if attr == attrRecordGz {
		return "#gz = :record"
	}
	return "#record = :record"
}

func recordRemove(attr string) string {
	if attr == attrRecordGz {
		return "#record"
	}
	return "#gz"
}

// recordBytes returns the JSON of the record an item holds.
func recordBytes(item map[string]ddbtypes.AttributeValue) ([]byte, error) {
	if v, ok := item[attrRecordGz].(*ddbtypes.AttributeValueMemberB); ok {
		zr, err := gzip.NewReader(bytes.NewReader(v.Value))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(io.LimitReader(zr, 16<<20))
	}
	return []byte(stringOf(item, attrRecord)), nil
}

// decodeRecord decodes the record an item holds into rec.
func decodeRecord(item map[string]ddbtypes.AttributeValue, rec *Record) error {
	data, err := recordBytes(item)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, rec)
}

// conditionFailed reports whether err is a condition of a write that did
// not hold, alone or in a transaction.
func conditionFailed(err error) bool {
	var cond *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		return true
	}
	var tx *ddbtypes.TransactionCanceledException
	if errors.As(err, &tx) {
		for _, r := range tx.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return true
			}
		}
	}
	return false
}

// Claim claims an environment for owner until the given time, or extends
// owner's claim: it succeeds when nobody holds a live claim on it, or owner
// does. It returns the environment's record as it stands (nil when it has
// none), read in the same step. When another owner's claim is live it
// returns a *Claimed error carrying that claim and the record, so that a
// delivery that would not act anyway need not wait.
func (s *Store) Claim(ctx context.Context, k Key, owner string, until time.Time) (*Record, error) {
	s.Legacy.prefetch()
	now := s.now()
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: itemKey(k, recordSK(k.Environment)),
		UpdateExpression:         aws.String("SET #owner = :owner, #until = :until"),
		ConditionExpression:      aws.String("attribute_not_exists(#owner) OR #until <= :now OR #owner = :owner"),
		ExpressionAttributeNames: names("#owner #until"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":owner": str(owner), ":until": num(until.UnixMilli()), ":now": num(now.UnixMilli()),
		},
		ReturnValues:                        ddbtypes.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var cond *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		rec, found, derr := s.decodeItem(k, cond.Item)
		if derr != nil {
			return nil, derr
		}
		claimed := &Claimed{Key: k}
		if rec.Claim != nil {
			claimed.Claim = *rec.Claim
		}
		if found {
			claimed.Record = &rec
		}
		return nil, claimed
	}
	if err != nil {
		return nil, s.translate("claim", k, err)
	}
	rec, found, err := s.decodeItem(k, out.Attributes)
	if err != nil {
		return nil, err
	}
	if found {
		return &rec, nil
	}
	imported, err := s.importKeys(ctx, []Key{k})
	if err != nil {
		return nil, err
	}
	if rec, ok := imported[k]; ok {
		rec.Claim = &Claim{Owner: owner, Until: until.UTC()}
		return &rec, nil
	}
	return nil, nil
}

// Release gives up owner's claim on an environment. A claim that is no
// longer owner's (it expired and another took it) is left alone.
func (s *Store) Release(ctx context.Context, k Key, owner string) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: itemKey(k, recordSK(k.Environment)),
		UpdateExpression:          aws.String("REMOVE #owner, #until"),
		ConditionExpression:       aws.String("#owner = :owner"),
		ExpressionAttributeNames:  names("#owner #until"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":owner": str(owner)},
	})
	if err != nil && !conditionFailed(err) {
		return s.translate("release the claim on", k, err)
	}
	return nil
}

// Page is one page of an environment's changes, newest first; More says
// older changes follow.
type Page struct {
	Records []Record
	More    bool
}

// History returns an environment's changes, newest first: at most limit
// (0: every one) of those before revision before (0: from the newest).
// It returns ErrNotFound (wrapped) when the environment has no record.
func (s *Store) History(ctx context.Context, repository, environment string, limit int, before int64) (Page, error) {
	k := Key{Repository: repository, Environment: environment}
	var start map[string]ddbtypes.AttributeValue
	if before > 0 {
		start = itemKey(k, changeSK(environment, before))
	}
	page, err := s.query(ctx, k, limit, start)
	if err == nil && before == 0 && len(page.Records) == 0 {
		// Nothing here yet: an earlier release's record is imported on
		// first read, with its history.
		if _, err = s.Get(ctx, repository, environment); err != nil {
			return Page{}, err
		}
		page, err = s.query(ctx, k, limit, nil)
	}
	return page, err
}

func (s *Store) query(ctx context.Context, k Key, limit int, start map[string]ddbtypes.AttributeValue) (Page, error) {
	var page Page
	for {
		in := &dynamodb.QueryInput{
			TableName:                aws.String(s.table),
			KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
			ExpressionAttributeNames: names("#pk #sk"),
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
				":pk": str(k.Repository), ":prefix": str(changePrefix(k.Environment)),
			},
			ScanIndexForward:  aws.Bool(false),
			ExclusiveStartKey: start,
			ConsistentRead:    aws.Bool(true),
		}
		if limit > 0 {
			in.Limit = aws.Int32(int32(min(limit-len(page.Records), 1000)))
		}
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return Page{}, s.translate("read the history of", k, err)
		}
		for _, item := range out.Items {
			var rec Record
			rev, _ := numberOf(item, attrRevision)
			if decodeRecord(item, &rec) != nil {
				continue // not a record: nothing of it can be shown
			}
			rec.Revision = rev
			page.Records = append(page.Records, rec)
		}
		start = out.LastEvaluatedKey
		if len(start) == 0 {
			return page, nil
		}
		if limit > 0 && len(page.Records) >= limit {
			page.More = true
			return page, nil
		}
	}
}
