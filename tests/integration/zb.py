"""Test-side Zerobus client pieces built only on grpcio and python-protobuf, independent of
the station's C code: DescriptorProto construction, dynamic record classes, and a
bidirectional stream wrapper whose responses arrive on a queue."""
import queue
import threading

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

FT = descriptor_pb2.FieldDescriptorProto
LABELS = {"optional": FT.LABEL_OPTIONAL, "required": FT.LABEL_REQUIRED,
          "repeated": FT.LABEL_REPEATED}
TYPES = {"int32": FT.TYPE_INT32, "int64": FT.TYPE_INT64, "float": FT.TYPE_FLOAT,
         "double": FT.TYPE_DOUBLE, "bool": FT.TYPE_BOOL, "string": FT.TYPE_STRING,
         "bytes": FT.TYPE_BYTES}

_counter = [0]


def message(name, fields, nested=()):
    """fields: (name, label, type or '.Nested', number). nested: DescriptorProtos."""
    d = descriptor_pb2.DescriptorProto(name=name)
    for fname, label, ftype, num in fields:
        f = d.field.add(name=fname, number=num, label=LABELS[label])
        if ftype in TYPES:
            f.type = TYPES[ftype]
        else:
            f.type = FT.TYPE_MESSAGE
            f.type_name = ftype
    for n in nested:
        d.nested_type.add().CopyFrom(n)
    return d


def record_class(desc, package="zbtest"):
    """A message class for desc (type names written as .<package>.<Root>.<Nested>)."""
    _counter[0] += 1
    pool = descriptor_pool.DescriptorPool()
    fdp = descriptor_pb2.FileDescriptorProto(name="t%d.proto" % _counter[0], package=package,
                                             syntax="proto2")
    fdp.message_type.add().CopyFrom(desc)
    pool.Add(fdp)
    md = pool.FindMessageTypeByName(package + "." + desc.name)
    return message_factory.MessageFactory(pool).GetPrototype(md)


class Stream:
    def __init__(self, pb, port, table, token, descriptor=None, record_type=1,
                 channel=None, header_table=None, omit_auth=False):
        m, g = pb
        self.m = m
        self.q = queue.Queue()
        self.out = queue.Queue()
        self.channel = channel or grpc.insecure_channel("127.0.0.1:%d" % port)
        stub = g.ZerobusStub(self.channel)
        md = [("x-databricks-zerobus-table-name", header_table or table)]
        if not omit_auth:
            md.append(("authorization", "Bearer " + token))
        self.call = stub.EphemeralStream(iter(self.q.get, None), metadata=md)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        create = m.CreateIngestStreamRequest(table_name=table, record_type=record_type)
        if descriptor is not None:
            create.descriptor_proto = descriptor.SerializeToString()
        self.q.put(m.EphemeralStreamRequest(create_stream=create))

    def _read(self):
        try:
            for r in self.call:
                self.out.put(r)
            self.out.put(("status", grpc.StatusCode.OK, ""))
        except grpc.RpcError as e:
            self.out.put(("status", e.code(), e.details()))

    def next(self, timeout=10):
        return self.out.get(timeout=timeout)

    def created(self, timeout=10):
        r = self.next(timeout)
        assert not isinstance(r, tuple), "create failed: %s %s" % (r[1], r[2])
        assert r.HasField("create_stream_response"), r
        return r.create_stream_response.stream_id

    def status(self, timeout=10):
        """Skip messages until the call ends; returns (code, details)."""
        while True:
            r = self.next(timeout)
            if isinstance(r, tuple):
                return r[1], r[2]

    def send(self, offset, records):
        """records: bytes (proto) or str (JSON), one or a list."""
        m = self.m
        if not isinstance(records, list):
            req = m.IngestRecordRequest(offset_id=offset)
            if isinstance(records, str):
                req.json_record = records
            else:
                req.proto_encoded_record = records
            self.q.put(m.EphemeralStreamRequest(ingest_record=req))
            return
        req = m.IngestRecordBatchRequest(offset_id=offset)
        if records and isinstance(records[0], str):
            req.json_batch.records.extend(records)
        else:
            req.proto_encoded_batch.records.extend(records)
        self.q.put(m.EphemeralStreamRequest(ingest_record_batch=req))

    def ack(self, upto, timeout=10):
        """Read until an ack >= upto; returns the acks seen (non-decreasing, asserted)."""
        acks = []
        while True:
            r = self.next(timeout)
            assert not isinstance(r, tuple), "stream ended: %s %s" % (r[1], r[2])
            if r.HasField("ingest_record_response"):
                a = r.ingest_record_response.durability_ack_up_to_offset
                assert not acks or a >= acks[-1], acks + [a]
                acks.append(a)
                if a >= upto:
                    return acks

    def close(self):
        self.q.put(None)
