"""pynetdicom SCPs for wardwatch's peer test: PYSCP (echo, store, find, move) and PYSTORE
(the C-MOVE destination). Rejects associations whose called AE title is not its own."""
import sys, time
from pydicom.dataset import Dataset
from pynetdicom import AE, evt, AllStoragePresentationContexts, StoragePresentationContexts
from pynetdicom.sop_class import (Verification, StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove, CTImageStorage)

port, dest_port = int(sys.argv[1]), int(sys.argv[2])
stored = []

def on_store(event):
    ds = event.dataset
    ds.file_meta = event.file_meta
    stored.append(ds)
    return 0x0000

def on_find(event):
    for i in range(2):
        if event.is_cancelled:
            yield (0xFE00, None)
            return
        r = Dataset()
        r.QueryRetrieveLevel = "STUDY"
        r.PatientName = f"Peer^Found{i}"
        r.StudyInstanceUID = f"1.2.826.0.1.3680043.10.999.{1000 + i}"
        yield (0xFF00, r)

def on_move(event):
    yield ("127.0.0.1", dest_port)
    yield len(stored)
    for ds in stored:
        yield (0xFF00, ds)

def on_user_id(event):
    return True, None

ae = AE(ae_title="PYSCP")
ae.require_called_aet = True
ae.add_supported_context(Verification)
for cx in StoragePresentationContexts:
    ae.add_supported_context(cx.abstract_syntax)
ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind)
ae.add_supported_context(StudyRootQueryRetrieveInformationModelMove)
for cx in StoragePresentationContexts:
    ae.add_requested_context(cx.abstract_syntax)
ae.maximum_pdu_size = 32768

dest = AE(ae_title="PYSTORE")
for cx in StoragePresentationContexts:
    dest.add_supported_context(cx.abstract_syntax)
dest.start_server(("127.0.0.1", dest_port), block=False, evt_handlers=[(evt.EVT_C_STORE, lambda e: 0x0000)])
ae.start_server(("127.0.0.1", port), block=True,
    evt_handlers=[(evt.EVT_C_STORE, on_store), (evt.EVT_C_FIND, on_find), (evt.EVT_C_MOVE, on_move),
                  (evt.EVT_USER_ID, on_user_id)])
