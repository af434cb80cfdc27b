"""pynetdicom SCU for wardwatch's peer test: echo, two C-STOREs (one large), C-FIND, C-MOVE
with a cleartext user identity; then a rejected association and an aborted one."""
import sys
from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.pdu_primitives import UserIdentityNegotiation
from pynetdicom.sop_class import (Verification, CTImageStorage, MRImageStorage,
    StudyRootQueryRetrieveInformationModelFind, StudyRootQueryRetrieveInformationModelMove)
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

port = int(sys.argv[1])
files = sys.argv[2:]
ae = AE(ae_title="PYSCU")
ae.add_requested_context(Verification)
ae.add_requested_context(CTImageStorage, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
ae.add_requested_context(MRImageStorage, [ImplicitVRLittleEndian])
ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
ae.maximum_pdu_size = 16384
uid = UserIdentityNegotiation()
uid.user_identity_type = 2
uid.primary_field = b"alice"
uid.secondary_field = b"s3cret-pass"
uid.positive_response_requested = True

a = ae.associate("127.0.0.1", port, ae_title="PYSCP", ext_neg=[uid])
assert a.is_established, "association not established"
assert a.send_c_echo().Status == 0
for f in files:
    st = a.send_c_store(dcmread(f))
    assert st.Status == 0, st
q = Dataset()
q.QueryRetrieveLevel = "STUDY"
q.PatientName = "Peer*"
q.StudyInstanceUID = ""
n = sum(1 for _ in a.send_c_find(q, StudyRootQueryRetrieveInformationModelFind))
m = Dataset()
m.QueryRetrieveLevel = "STUDY"
m.StudyInstanceUID = "1.2.826.0.1.3680043.10.999.1000"
k = sum(1 for _ in a.send_c_move(m, "PYSTORE", StudyRootQueryRetrieveInformationModelMove))
a.release()
print("find responses", n, "move responses", k)

r = ae.associate("127.0.0.1", port, ae_title="WRONGAE")
assert r.is_rejected, "expected a rejection"
b = ae.associate("127.0.0.1", port, ae_title="PYSCP")
assert b.is_established
b.abort()
print("ok")
