package sqs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// TagGroup is the queue tag naming the consumer group a queue belongs to.
const TagGroup = "weft-group"

// groupListTTL is how long the list of a topic's group queues (other than
// the first group's) is trusted before Publish asks SQS again. A group that
// subscribes in another process gets what is published from here at most
// this long after its queue appeared.
const groupListTTL = 5 * time.Second

// retention is how long SQS keeps a message: 14 days, its maximum.
const retention = 14 * 24 * time.Hour

// queueRef is a queue the transport knows the URL of.
type queueRef struct {
	name string
	url  string
	fifo bool
}

// queues caches queue URLs and the group queues of topics, and creates
// queues.
type queues struct {
	t *Transport

	mu     sync.Mutex
	urls   map[string]queueRef
	groups map[string]groupList // topic -> its group queues but the first
}

type groupList struct {
	refs []queueRef
	at   time.Time
}

func newQueues(t *Transport) *queues {
	return &queues{t: t, urls: map[string]queueRef{}, groups: map[string]groupList{}}
}

func refOf(name, url string) queueRef {
	return queueRef{name: name, url: url, fifo: strings.HasSuffix(name, fifoSuffix)}
}

// lookup finds the queue name, without creating it.
func (q *queues) lookup(ctx context.Context, name string) (queueRef, bool, error) {
	q.mu.Lock()
	ref, ok := q.urls[name]
	q.mu.Unlock()
	if ok {
		return ref, true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	out, err := q.t.api.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if isNoQueue(err) {
		return queueRef{}, false, nil
	}
	if err != nil {
		return queueRef{}, false, opError("get queue URL", name, err)
	}
	ref = refOf(name, aws.ToString(out.QueueUrl))
	q.remember(ref)
	return ref, true, nil
}

func (q *queues) remember(ref queueRef) {
	q.mu.Lock()
	q.urls[ref.name] = ref
	q.mu.Unlock()
}

// forget drops a queue that SQS says does not exist (any more).
func (q *queues) forget(name string) {
	q.mu.Lock()
	delete(q.urls, name)
	q.mu.Unlock()
}

// ensure finds the queue name, creating it (and its redrive queue) when
// it is missing and CreateQueues is on. topic is for the error.
func (q *queues) ensure(ctx context.Context, name, topic string) (queueRef, error) {
	ref, found, err := q.lookup(ctx, name)
	if err != nil || found {
		return ref, err
	}
	if !q.t.cfg.CreateQueues {
		what := ""
		if topic != "" {
			what = " (topic " + topic + ")"
		}
		return queueRef{}, fmt.Errorf("sqs: queue %s%s does not exist, and createQueues is off: create it (and %s) or turn createQueues on",
			name, what, RedriveQueueName(name))
	}
	return q.create(ctx, name)
}

// create makes the queue name with the transport's attributes and a
// redrive policy to its redrive queue, made first.
func (q *queues) create(ctx context.Context, name string) (queueRef, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	fifo := strings.HasSuffix(name, fifoSuffix)
	attrs := q.attributes(fifo)
	rname := RedriveQueueName(name)
	rref, err := q.createOne(ctx, rname, attrs)
	if err != nil {
		return queueRef{}, err
	}
	out, err := q.t.api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(rref.url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		return queueRef{}, opError("get the ARN", rname, err)
	}
	arn := out.Attributes[string(types.QueueAttributeNameQueueArn)]
	if arn == "" {
		return queueRef{}, fmt.Errorf("sqs: queue %s has no QueueArn attribute", rname)
	}
	attrs = q.attributes(fifo)
	attrs[string(types.QueueAttributeNameRedrivePolicy)] = fmt.Sprintf(`{"deadLetterTargetArn":%s,"maxReceiveCount":"%d"}`,
		strconv.Quote(arn), q.t.cfg.RedriveMaxReceives)
	ref, err := q.createOne(ctx, name, attrs)
	if err == nil {
		q.t.log.Info("sqs: created queue", "queue", name, "redrive", rname)
	}
	return ref, err
}

func (q *queues) attributes(fifo bool) map[string]string {
	attrs := map[string]string{
		string(types.QueueAttributeNameVisibilityTimeout):      strconv.Itoa(int(ceilSeconds(q.t.cfg.VisibilityTimeout))),
		string(types.QueueAttributeNameMessageRetentionPeriod): strconv.Itoa(int(retention / time.Second)),
	}
	if fifo {
		attrs[string(types.QueueAttributeNameFifoQueue)] = "true"
		attrs[string(types.QueueAttributeNameContentBasedDeduplication)] = "false"
	}
	return attrs
}

// createOne creates one queue; one that exists already (made by another
// process, or by a template with other attributes) is taken as it is.
func (q *queues) createOne(ctx context.Context, name string, attrs map[string]string) (queueRef, error) {
	out, err := q.t.api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if apiCode(err) == "QueueNameExists" || apiCode(err) == "QueueAlreadyExists" {
		q.t.log.Info("sqs: queue exists with other attributes; using it as it is", "queue", name)
		ref, found, lerr := q.lookup(ctx, name)
		if lerr == nil && !found {
			lerr = fmt.Errorf("sqs: queue %s exists and does not", name)
		}
		return ref, lerr
	}
	if err != nil {
		return queueRef{}, opError("create queue", name, err)
	}
	ref := refOf(name, aws.ToString(out.QueueUrl))
	q.remember(ref)
	return ref, nil
}

// owner is the group the queue belongs to ("" when none has subscribed).
func (q *queues) owner(ctx context.Context, ref queueRef) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	out, err := q.t.api.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: aws.String(ref.url)})
	if err != nil {
		return "", opError("list tags", ref.name, err)
	}
	return out.Tags[TagGroup], nil
}

// claim makes group the owner of the queue unless it has one, and returns
// the owner read back afterwards: of two groups tagging at once, the one
// whose tag SQS kept.
func (q *queues) claim(ctx context.Context, ref queueRef, group string) (string, error) {
	owner, err := q.owner(ctx, ref)
	if err != nil || owner != "" {
		return owner, err
	}
	tctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if _, err := q.t.api.TagQueue(tctx, &sqs.TagQueueInput{QueueUrl: aws.String(ref.url), Tags: map[string]string{TagGroup: group}}); err != nil {
		return "", opError("tag", ref.name, err)
	}
	return q.owner(ctx, ref)
}

// groupQueues lists the queues of the groups of topic other than the
// first, from the cache when it is fresh.
func (q *queues) groupQueues(ctx context.Context, topic string) ([]queueRef, error) {
	now := time.Now()
	q.mu.Lock()
	gl, ok := q.groups[topic]
	q.mu.Unlock()
	if ok && now.Sub(gl.at) < groupListTTL {
		return gl.refs, nil
	}
	prefix := q.t.names.groupPrefix(topic)
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	var refs []queueRef
	pages := sqs.NewListQueuesPaginator(q.t.api, &sqs.ListQueuesInput{QueueNamePrefix: aws.String(prefix), MaxResults: aws.Int32(1000)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, opError("list queues", prefix+"*", err)
		}
		for _, u := range page.QueueUrls {
			// A server may match more loosely than by prefix.
			if name := queueNameOf(u); strings.HasPrefix(name, prefix) && isGroupQueue(name) {
				refs = append(refs, refOf(name, u))
			}
		}
	}
	q.mu.Lock()
	q.groups[topic] = groupList{refs: refs, at: now}
	q.mu.Unlock()
	return refs, nil
}

// invalidate makes the next Publish to topic list its group queues again.
func (q *queues) invalidate(topic string) {
	q.mu.Lock()
	delete(q.groups, topic)
	q.mu.Unlock()
}

// apiCode is the error code of an SQS error ("" for other errors).
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func isNoQueue(err error) bool {
	if err == nil {
		return false
	}
	var nq *types.QueueDoesNotExist
	c := apiCode(err)
	return errors.As(err, &nq) || c == "QueueDoesNotExist" || c == "AWS.SimpleQueueService.NonExistentQueue"
}

// isStale reports an error saying a receipt handle no longer stands for
// the message: it was deleted, or received again.
func isStale(err error) bool {
	switch apiCode(err) {
	case "ReceiptHandleIsInvalid", "MessageNotInflight", "InvalidReceiptHandle":
		return true
	}
	return false
}
