"""Writes the DICOM files wardwatch's peer tests send: CT and MR images with known device
attributes and synthetic patient data (never real), one large enough to span hundreds of
TCP segments."""
import sys
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, CTImageStorage, MRImageStorage

def make(path, idx, sop, modality, pixels, ts):
    uid = f"1.2.826.0.1.3680043.10.999.{idx}"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ts
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop
    ds.SOPInstanceUID = uid
    ds.StudyDate = "20250101"
    ds.AccessionNumber = "ACC42"
    ds.Modality = modality
    ds.Manufacturer = "WARDWATCH LABS"
    ds.InstitutionName = "Loopback General"
    ds.ReferringPhysicianName = "Ref^Doctor"
    ds.StationName = "PEERSTATION1"
    ds.StudyDescription = "PEER STUDY"
    ds.ManufacturerModelName = "PeerScanner 9"
    ds.PatientName = "Peer^Test"
    ds.PatientID = "PID-42"
    ds.PatientBirthDate = "19800101"
    ds.PatientSex = "O"
    ds.DeviceSerialNumber = "SN-4242"
    ds.SoftwareVersions = "SW 1.2.3"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.999.1000"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.999.2000." + ("1" if modality == "CT" else "2")
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = idx
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = pixels // 2048
    ds.Columns = 1024
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = bytes((i * 7) & 0xFF for i in range(pixels)) if pixels < 100000 else b"\x5a" * pixels
    ds.save_as(path, enforce_file_format=True)

out = sys.argv[1]
make(f"{out}/ct1.dcm", 1, CTImageStorage, "CT", 2048, ExplicitVRLittleEndian)
make(f"{out}/ct2.dcm", 2, CTImageStorage, "CT", 4096, ExplicitVRLittleEndian)
make(f"{out}/mr1.dcm", 3, MRImageStorage, "MR", 1024, ImplicitVRLittleEndian)
make(f"{out}/big.dcm", 4, CTImageStorage, "CT", 12 * 1024 * 1024, ExplicitVRLittleEndian)
