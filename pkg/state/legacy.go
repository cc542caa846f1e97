package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecrdeploy/ecrdeploy/pkg/param"
)

// SSMAPI is the part of the SSM API that reading an earlier release's
// records uses.
type SSMAPI interface {
	GetParameters(ctx context.Context, in *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
	ssm.GetParametersByPathAPIClient
	ssm.GetParameterHistoryAPIClient
}

// Legacy reads the records that releases before the state table kept in
// SSM Parameter Store: one parameter per environment,
// {prefix}/state/{repository}/{environment}, whose versions were its
// history. It never writes there: the parameters are left as they were.
type Legacy struct {
	client SSMAPI
	prefix string

	// mu guards known and anyRecords: whether the prefix has any state
	// parameter at all, asked once per process (one call) and kept once
	// answered; an error is not kept, so the next read asks again.
	mu                sync.Mutex
	known, anyRecords bool
}

// NewLegacy returns the reader of the records under {prefix}/state/. The
// prefix is normalised as the configuration store normalises it.
func NewLegacy(client SSMAPI, prefix string) *Legacy {
	if p, err := param.Prefix(prefix); err == nil {
		prefix = p
	}
	return &Legacy{client: client, prefix: prefix}
}

// legacyLookTimeout bounds the look for an earlier release's records,
// which is made without the caller's context (prefetch has none).
const legacyLookTimeout = 30 * time.Second

// any says whether the prefix has any state parameter at all: asked once,
// the first time it is needed, and kept once answered. Concurrent callers
// wait for the one call; one that failed is made again by the next.
func (l *Legacy) any() (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.known {
		return l.anyRecords, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), legacyLookTimeout)
	defer cancel()
	out, err := l.client.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{
		Path: aws.String(l.prefix + "/state"), Recursive: aws.Bool(true), MaxResults: aws.Int32(1),
	})
	if err != nil {
		return false, fmt.Errorf("look for state records of an earlier release under %s/state: %w", l.prefix, err)
	}
	// A page may come back empty with a token: there may be more.
	l.known, l.anyRecords = true, len(out.Parameters) > 0 || aws.ToString(out.NextToken) != ""
	return l.anyRecords, nil
}

// prefetch starts looking for an earlier release's records, once per
// process, so that the answer is there when a read finds no record in the
// table rather than costing that read a round trip of its own.
func (l *Legacy) prefetch() {
	if l != nil {
		go l.any()
	}
}

// Name returns the parameter name of an environment's record.
func (l *Legacy) Name(k Key) string {
	return l.prefix + "/state/" + k.Repository + "/" + k.Environment
}

// present returns which of keys have a parameter, ten a call.
func (l *Legacy) present(ctx context.Context, keys []Key) ([]Key, error) {
	if ok, err := l.any(); err != nil || !ok {
		return nil, err
	}
	byName := map[string]Key{}
	var names []string
	for _, k := range keys {
		byName[l.Name(k)] = k
		names = append(names, l.Name(k))
	}
	var found []Key
	for chunk := range slices.Chunk(names, 10) {
		out, err := l.client.GetParameters(ctx, &ssm.GetParametersInput{Names: chunk})
		if err != nil {
			return nil, fmt.Errorf("read state of an earlier release %s: %w", chunk[0], err)
		}
		for _, p := range out.Parameters {
			if k, ok := byName[aws.ToString(p.Name)]; ok {
				found = append(found, k)
			}
		}
	}
	return found, nil
}

// history returns every version of an environment's parameter that is a
// record, oldest first, each with its parameter version as its revision.
func (l *Legacy) history(ctx context.Context, k Key) ([]Record, error) {
	name := l.Name(k)
	var recs []Record
	pages := ssm.NewGetParameterHistoryPaginator(l.client, &ssm.GetParameterHistoryInput{Name: aws.String(name), MaxResults: aws.Int32(50)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		var nf *ssmtypes.ParameterNotFound
		if errors.As(err, &nf) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read the history of state %s: %w", name, err)
		}
		for _, p := range page.Parameters {
			var rec Record
			if json.Unmarshal([]byte(aws.ToString(p.Value)), &rec) != nil {
				continue // not a record: nothing of it can be imported
			}
			rec.Repository, rec.Environment, rec.Revision = k.Repository, k.Environment, p.Version
			recs = append(recs, rec)
		}
	}
	slices.SortFunc(recs, func(a, b Record) int { return int(a.Revision - b.Revision) })
	return recs, nil
}

// importKeys imports, for the keys that have no record in the table, the
// record an earlier release kept in SSM, with its parameter history as
// change items, and returns the records imported. A key with no parameter
// is left out. Two processes importing one record at once write the same
// change items, and one of them the record: the other reads it.
func (s *Store) importKeys(ctx context.Context, keys []Key) (map[Key]Record, error) {
	out := map[Key]Record{}
	if s.Legacy == nil || len(keys) == 0 {
		return out, nil
	}
	present, err := s.Legacy.present(ctx, keys)
	if err != nil {
		return nil, err
	}
	for _, k := range present {
		rec, ok, err := s.importOne(ctx, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out[k] = rec
		}
	}
	return out, nil
}

func (s *Store) importOne(ctx context.Context, k Key) (Record, bool, error) {
	history, err := s.Legacy.history(ctx, k)
	if err != nil || len(history) == 0 {
		return Record{}, false, err
	}
	var writes []ddbtypes.WriteRequest
	for _, rec := range history {
		data, err := json.Marshal(rec)
		if err != nil {
			return Record{}, false, fmt.Errorf("encode %s revision %d: %w", s.where(k), rec.Revision, err)
		}
		attr, body, err := encodeRecord(data)
		if err != nil {
			return Record{}, false, fmt.Errorf("encode %s revision %d: %w", s.where(k), rec.Revision, err)
		}
		item := s.changeItem(k, rec.Revision, attr, body, rec.Time)
		writes = append(writes, ddbtypes.WriteRequest{PutRequest: &ddbtypes.PutRequest{Item: item}})
	}
	for chunk := range slices.Chunk(writes, batchWriteLimit) {
		if err := s.batchWrite(ctx, k, chunk); err != nil {
			return Record{}, false, err
		}
	}
	latest := history[len(history)-1]
	data, err := json.Marshal(latest)
	if err != nil {
		return Record{}, false, fmt.Errorf("encode %s: %w", s.where(k), err)
	}
	attr, body, err := encodeRecord(data)
	if err != nil {
		return Record{}, false, fmt.Errorf("encode %s: %w", s.where(k), err)
	}
	// The record item is updated, not put: a claim may be on it already.
	update := "SET #rev = :rev, " + recordSet(attr) + ", #env = :env, #t = :time"
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: itemKey(k, recordSK(k.Environment)),
		UpdateExpression:         aws.String(update),
		ConditionExpression:      aws.String("attribute_not_exists(#rev)"),
		ExpressionAttributeNames: names(update),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":rev": num(latest.Revision), ":record": body, ":env": str(k.Environment),
			":time": str(latest.Time.UTC().Format(time.RFC3339Nano)),
		},
	})
	if conditionFailed(err) {
		// Imported (or written) by another process meanwhile.
		rec, err := s.Get(ctx, k.Repository, k.Environment)
		return rec, err == nil, err
	}
	if err != nil {
		return Record{}, false, s.translate("import", k, err)
	}
	return latest, true, nil
}

// batchWrite writes up to batchWriteLimit items, again for those DynamoDB
// leaves unprocessed.
func (s *Store) batchWrite(ctx context.Context, k Key, writes []ddbtypes.WriteRequest) error {
	for round := 0; len(writes) > 0; round++ {
		if round == unprocessedRounds {
			return fmt.Errorf("import %s: DynamoDB left %d writes unprocessed after %d rounds", s.where(k), len(writes), round)
		}
		if round > 0 && !sleep(ctx, backoff(round)) {
			return ctx.Err()
		}
		out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{s.table: writes}})
		if err != nil {
			return s.translate("import", k, err)
		}
		writes = out.UnprocessedItems[s.table]
	}
	return nil
}
