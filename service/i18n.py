"""Bengali and English texts for API problems, and language negotiation.

Bengali is the default: a request without ``Accept-Language``, or with only
languages Dolil does not have, gets Bengali. Terms follow the ICT Act 2006, the
CCA and e-Nothi usage (দলিল, কার্যবিবরণী, প্রমাণক, স্বাক্ষর, যাচাই, অখণ্ডতা).
"""

from __future__ import annotations

from flask import request

from .bengali import format_number_bn, to_bengali_digits

LANGUAGES = ("bn", "en")
DEFAULT_LANGUAGE = "bn"

# Field names as shown to users, for problems that name a form field.
FIELD_LABELS = {
    "file": {"en": "file", "bn": "ফাইল"},
    "kind": {"en": "kind", "bn": "দলিলের ধরন"},
    "title": {"en": "title", "bn": "বিষয়"},
    "memo_number": {"en": "memo number", "bn": "স্মারক নম্বর"},
    "document_date": {"en": "document date", "bn": "দলিলের তারিখ"},
    "meeting_date": {"en": "meeting date", "bn": "সভার তারিখ"},
    "cursor": {"en": "cursor", "bn": "কার্সর"},
    "limit": {"en": "limit", "bn": "সংখ্যার সীমা"},
    "level": {"en": "signature level", "bn": "স্বাক্ষরের স্তর"},
    "reason": {"en": "reason", "bn": "কারণ"},
    "location": {"en": "location", "bn": "স্বাক্ষরের স্থান"},
    "hold": {"en": "legal hold", "bn": "আইনগত সংরক্ষণাদেশ"},
    "role": {"en": "signing role", "bn": "স্বাক্ষরের ভূমিকা"},
    "visible": {"en": "visible", "bn": "দৃশ্যমান স্বাক্ষর"},
    "pin": {"en": "PIN", "bn": "পিন"},
    "passphrase": {"en": "passphrase", "bn": "সার্টিফিকেট ফাইলের পাসওয়ার্ড"},
    "certificates": {"en": "certificates", "bn": "সার্টিফিকেট"},
    "handle": {"en": "handle", "bn": "হ্যান্ডেল"},
    "since": {"en": "since", "bn": "শুরুর তারিখ"},
    "until": {"en": "until", "bn": "শেষের তারিখ"},
    "signature_value": {"en": "signature value", "bn": "স্বাক্ষরের মান"},
    "page": {"en": "page", "bn": "পৃষ্ঠা"},
    "format": {"en": "report format", "bn": "প্রতিবেদনের বিন্যাস"},
    "box": {"en": "box", "bn": "স্ট্যাম্পের ঘর"},
    "request": {"en": "request body", "bn": "অনুরোধের বডি"},
    "signers": {"en": "signers", "bn": "স্বাক্ষরকারী"},
    "user": {"en": "user", "bn": "ব্যবহারকারী"},
    "Idempotency-Key": {"en": "Idempotency-Key header", "bn": "Idempotency-Key হেডার"},
}

# code -> language -> (title, detail template). Templates use str.format with
# the problem's parameters; numbers are rendered with Bengali digits in Bengali.
PROBLEMS: dict[str, dict[str, tuple[str, str]]] = {
    "unauthorized": {
        "en": ("Authentication required", "Send a valid API token as 'Authorization: Bearer <token>'."),
        "bn": ("পরিচয় যাচাই প্রয়োজন", "'Authorization: Bearer <টোকেন>' হেডারে একটি বৈধ এপিআই টোকেন পাঠান।"),
    },
    "forbidden": {
        "en": ("Permission denied", "The role '{role}' may not perform this action."),
        "bn": ("এই কাজের অনুমতি আপনার নেই", "'{role}' ভূমিকার ব্যবহারকারী এই কাজটি করতে পারেন না।"),
    },
    "document_not_found": {
        "en": ("Document not found", "No document has the id '{document_id}'."),
        "bn": ("দলিল পাওয়া যায়নি", "'{document_id}' আইডির কোনো দলিল নেই।"),
    },
    "revision_not_found": {
        "en": ("Revision not found", "Document '{document_id}' has no revision {revision}."),
        "bn": ("সংস্করণ পাওয়া যায়নি", "'{document_id}' দলিলের কোনো সংস্করণ {revision} নেই।"),
    },
    "validation_data_not_found": {
        "en": ("Validation data not found", "No validation data was kept for revision {revision}: only revisions signed or renewed in the archive have it."),
        "bn": ("যাচাইয়ের তথ্য পাওয়া যায়নি", "সংস্করণ {revision}-এর জন্য যাচাইয়ের কোনো তথ্য রাখা হয়নি: কেবল সংরক্ষণাগারে স্বাক্ষরিত বা নবায়িত সংস্করণে তা থাকে।"),
    },
    "not_found": {
        "en": ("Not found", "The requested URL does not exist."),
        "bn": ("পাওয়া যায়নি", "অনুরোধ করা ঠিকানাটি নেই।"),
    },
    "method_not_allowed": {
        "en": ("Method not allowed", "This URL does not accept the {method} method."),
        "bn": ("এই পদ্ধতির অনুমতি নেই", "এই ঠিকানায় {method} পদ্ধতি গ্রহণ করা হয় না।"),
    },
    "bad_request": {
        "en": ("Bad request", "The request could not be read. Check its format and headers."),
        "bn": ("অনুরোধটি সঠিক নয়", "অনুরোধটি পড়া যায়নি। এর বিন্যাস ও হেডার পরীক্ষা করুন।"),
    },
    "field_missing": {
        "en": ("Required field missing", "The value of '{field_label}' is required."),
        "bn": ("আবশ্যক তথ্য নেই", "'{field_label}' আবশ্যক।"),
    },
    "field_invalid": {
        "en": ("Invalid field", "The value of '{field_label}' is not valid: {reason_en}"),
        "bn": ("তথ্য সঠিক নয়", "'{field_label}'-এর মান সঠিক নয়: {reason_bn}"),
    },
    "idempotency_key_reused": {
        "en": ("Idempotency key already used", "This Idempotency-Key was used for a different upload. Use a new key for a new request."),
        "bn": ("Idempotency-Key আগেই ব্যবহৃত", "এই Idempotency-Key অন্য একটি আপলোডে ব্যবহার করা হয়েছে। নতুন অনুরোধের জন্য নতুন কী দিন।"),
    },
    "file_empty": {
        "en": ("Empty file", "The uploaded file is empty."),
        "bn": ("ফাইলটি খালি", "আপলোড করা ফাইলে কিছু নেই।"),
    },
    "unsupported_type": {
        "en": ("Unsupported file type", "Upload a PDF, or a JPEG, PNG or TIFF scan. The file's content is none of these."),
        "bn": ("ফাইলের ধরন সমর্থিত নয়", "PDF অথবা JPEG, PNG বা TIFF স্ক্যান আপলোড করুন। ফাইলটির বিষয়বস্তু এগুলোর কোনোটি নয়।"),
    },
    "pdf_header_offset": {
        "en": (
            "Bytes before the PDF header",
            "The file has bytes before its PDF header (%PDF-), for example added by an e-mail "
            "gateway, which shift every position in the file. Send the original PDF.",
        ),
        "bn": (
            "PDF হেডারের আগে বাড়তি বাইট",
            "ফাইলটির PDF হেডারের (%PDF-) আগে বাড়তি বাইট আছে, যেমন ই-মেইল গেটওয়ে যোগ করে; "
            "এতে ফাইলের প্রতিটি অবস্থান সরে যায়। মূল PDF ফাইলটি পাঠান।",
        ),
    },
    "malformed_pdf": {
        "en": ("Damaged PDF", "The PDF could not be read completely; it may be truncated or damaged."),
        "bn": ("PDF ফাইলটি নষ্ট", "PDF ফাইলটি সম্পূর্ণ পড়া যায়নি; এটি অসম্পূর্ণ বা নষ্ট হতে পারে।"),
    },
    "encrypted_pdf": {
        "en": ("Encrypted PDF", "Encrypted PDFs cannot be archived: upload the document without a password or encryption."),
        "bn": ("এনক্রিপ্ট করা PDF", "এনক্রিপ্ট করা PDF সংরক্ষণ করা যায় না: পাসওয়ার্ড বা এনক্রিপশন ছাড়া দলিলটি আপলোড করুন।"),
    },
    "image_invalid": {
        "en": ("Damaged image", "The scan could not be read as an image; it may be truncated or damaged."),
        "bn": ("স্ক্যান করা ছবিটি নষ্ট", "স্ক্যান করা ছবিটি পড়া যায়নি; এটি অসম্পূর্ণ বা নষ্ট হতে পারে।"),
    },
    "file_too_large": {
        "en": ("File too large", "The upload exceeds the limit of {max_bytes} bytes."),
        "bn": ("ফাইলটি অনেক বড়", "আপলোডের সর্বোচ্চ সীমা {max_bytes} বাইট।"),
    },
    "too_many_pages": {
        "en": ("Too many pages", "The file has more pages than the archive accepts. Split the document into parts and upload each part."),
        "bn": ("পৃষ্ঠার সংখ্যা অনেক বেশি", "ফাইলটিতে সংরক্ষণাগারের সর্বোচ্চ সীমার চেয়ে বেশি পৃষ্ঠা আছে। দলিলটি কয়েকটি অংশে ভাগ করে প্রতিটি অংশ আলাদাভাবে আপলোড করুন।"),
    },
    "too_many_objects": {
        "en": ("PDF too complex", "The PDF contains more objects than the archive accepts. Save it again with a PDF editor, then upload the new file."),
        "bn": ("PDF ফাইলটি অতিরিক্ত জটিল", "PDF ফাইলটিতে সংরক্ষণাগারের সর্বোচ্চ সীমার চেয়ে বেশি অবজেক্ট আছে। PDF সম্পাদনার সফটওয়্যারে ফাইলটি নতুন করে সংরক্ষণ করে নতুন ফাইলটি আপলোড করুন।"),
    },
    "too_many_revisions": {
        "en": ("Too many revisions", "The PDF contains more revisions (updates added after saving or signing) than the archive accepts."),
        "bn": ("সংস্করণের সংখ্যা অনেক বেশি", "PDF ফাইলটিতে সংরক্ষণাগারের সর্বোচ্চ সীমার চেয়ে বেশি সংস্করণ (সংরক্ষণ বা স্বাক্ষরের পর যুক্ত হালনাগাদ) আছে।"),
    },
    "nesting_too_deep": {
        "en": ("PDF structure too deep", "The PDF nests arrays or dictionaries more deeply than the archive accepts. The file is probably damaged or deliberately crafted."),
        "bn": ("PDF ফাইলের কাঠামো অতিরিক্ত গভীর", "PDF ফাইলটির ভেতরের কাঠামো (অ্যারে ও ডিকশনারি) সর্বোচ্চ সীমার চেয়ে বেশি স্তরে সাজানো। ফাইলটি সম্ভবত নষ্ট বা ইচ্ছাকৃতভাবে তৈরি।"),
    },
    "decompression_limit": {
        "en": ("PDF content too large", "The compressed content of the PDF expands to more data than the archive accepts."),
        "bn": ("PDF ফাইলের বিষয়বস্তু অনেক বড়", "PDF ফাইলটির সংকুচিত বিষয়বস্তু খুললে সংরক্ষণাগারের সর্বোচ্চ সীমার চেয়ে বেশি উপাত্ত হয়।"),
    },
    "image_too_large": {
        "en": ("Scan too large", "The scanned image has more pixels than the archive accepts. Scan the page again at a lower resolution, for example 300 dpi, and upload it."),
        "bn": ("স্ক্যান করা ছবিটি অনেক বড়", "স্ক্যান করা ছবিটিতে সংরক্ষণাগারের সর্বোচ্চ সীমার চেয়ে বেশি পিক্সেল আছে। কম রেজোলিউশনে (যেমন ৩০০ dpi) পৃষ্ঠাটি আবার স্ক্যান করে আপলোড করুন।"),
    },
    "memory_limit": {
        "en": ("File needs too much memory", "Checking the file needed more memory than the archive allows. The file may be damaged or deliberately crafted; upload a simpler copy of the document."),
        "bn": ("ফাইলটি পরীক্ষায় অতিরিক্ত মেমরি প্রয়োজন", "ফাইলটি পরীক্ষা করতে সংরক্ষণাগারের অনুমোদিত সীমার চেয়ে বেশি মেমরি প্রয়োজন হয়েছে। ফাইলটি নষ্ট বা ইচ্ছাকৃতভাবে তৈরি হতে পারে; দলিলটির একটি সরল অনুলিপি আপলোড করুন।"),
    },
    "processing_timeout": {
        "en": ("File check took too long", "Checking the file took longer than the archive allows. The file may be damaged or deliberately crafted; save it again with a PDF editor or upload a smaller file."),
        "bn": ("ফাইলটি পরীক্ষায় অনেক বেশি সময় লেগেছে", "ফাইলটি পরীক্ষা করতে অনুমোদিত সময়ের চেয়ে বেশি সময় লেগেছে। ফাইলটি নষ্ট বা ইচ্ছাকৃতভাবে তৈরি হতে পারে; PDF সম্পাদনার সফটওয়্যারে ফাইলটি নতুন করে সংরক্ষণ করুন অথবা ছোট ফাইল আপলোড করুন।"),
    },
    "signing_credential_missing": {
        "en": ("No signing credential", "No active signing credential is registered for your user. Ask an administrator to register your certificate."),
        "bn": ("স্বাক্ষরের সার্টিফিকেট নেই", "আপনার নামে কোনো সক্রিয় ডিজিটাল স্বাক্ষর সার্টিফিকেট নিবন্ধিত নেই। প্রশাসককে আপনার সার্টিফিকেট নিবন্ধন করতে বলুন।"),
    },
    "signing_credential_unavailable": {
        "en": ("Signing credential unavailable", "Your signing credential could not be opened. Ask an administrator to check it."),
        "bn": ("স্বাক্ষরের সার্টিফিকেট খোলা যায়নি", "আপনার ডিজিটাল স্বাক্ষর সার্টিফিকেট খোলা যায়নি। প্রশাসককে এটি পরীক্ষা করতে বলুন।"),
    },
    "signer_certificate_rejected": {
        "en": ("Signer certificate rejected", "Your certificate cannot be used for signing: {reason_en}."),
        "bn": ("স্বাক্ষরকারীর সার্টিফিকেট গ্রহণযোগ্য নয়", "আপনার সার্টিফিকেট দিয়ে স্বাক্ষর করা যাবে না: {reason_bn}।"),
    },
    "signing_failed": {
        "en": ("Signing failed", "The document could not be signed. Nothing was stored."),
        "bn": ("স্বাক্ষর করা যায়নি", "দলিলটিতে স্বাক্ষর করা যায়নি। কিছুই সংরক্ষণ করা হয়নি।"),
    },
    "stamp_text_unsupported": {
        "en": ("Stamp text not supported", "The stamp font has Bengali letters and digits only; the name, designation or office contains '{characters}'. Sign with \"visible\": false or ask an administrator to set them in Bengali."),
        "bn": ("স্ট্যাম্পের লেখা সমর্থিত নয়", "স্ট্যাম্পের ফন্টে কেবল বাংলা বর্ণ ও অঙ্ক আছে; নাম, পদবি বা দপ্তরে '{characters}' আছে। \"visible\": false দিয়ে স্বাক্ষর করুন অথবা প্রশাসককে এগুলো বাংলায় লিখে দিতে বলুন।"),
    },
    "stamp_placement_failed": {
        "en": ("Stamp cannot be placed", "The signature stamp does not fit where requested ({reason}). Choose another page or box."),
        "bn": ("স্ট্যাম্প বসানো যায়নি", "অনুরোধ করা স্থানে স্বাক্ষরের স্ট্যাম্প বসানো যায়নি ({reason})। অন্য পৃষ্ঠা বা ঘর বেছে নিন।"),
    },
    "stamp_position_fixed": {
        "en": ("Stamp position fixed", "Your signature goes into the field that the certification reserved for your role on page {page}. Its place cannot change after certification: sign without \"page\" and \"box\"."),
        "bn": ("স্ট্যাম্পের স্থান নির্দিষ্ট", "আপনার স্বাক্ষর প্রত্যয়নের সময় আপনার ভূমিকার জন্য পৃষ্ঠা {page}-এ সংরক্ষিত ঘরে বসবে। প্রত্যয়নের পর এর স্থান বদলানো যায় না: \"page\" ও \"box\" ছাড়া স্বাক্ষর করুন।"),
    },
    "stamp_field_invisible": {
        "en": ("Signature field cannot show a stamp", "The certification reserved your role's signature field without a box, because the page had no free space. Sign without \"visible\"."),
        "bn": ("স্বাক্ষরের ঘরে স্ট্যাম্প দেখানো যাবে না", "পৃষ্ঠায় ফাঁকা জায়গা না থাকায় প্রত্যয়নের সময় আপনার ভূমিকার স্বাক্ষরের ঘরটি বক্স ছাড়া সংরক্ষিত হয়েছে। \"visible\" ছাড়া স্বাক্ষর করুন।"),
    },
    "pin_required": {
        "en": ("PIN required", "Your signing key is on a token: send its PIN as \"pin\" in the request."),
        "bn": ("পিন প্রয়োজন", "আপনার স্বাক্ষরের কী একটি টোকেনে আছে: অনুরোধে \"pin\" হিসেবে টোকেনের পিন পাঠান।"),
    },
    "certificate_not_registered": {
        "en": ("Certificate not registered", "The signer certificate is not registered to your user for two-phase signing. Ask an administrator to register it."),
        "bn": ("সার্টিফিকেট নিবন্ধিত নয়", "দুই ধাপে স্বাক্ষরের জন্য এই স্বাক্ষরকারীর সার্টিফিকেট আপনার নামে নিবন্ধিত নয়। প্রশাসককে এটি নিবন্ধন করতে বলুন।"),
    },
    "pending_signature_not_found": {
        "en": ("Prepared signature not found", "No unexpired prepared signature of yours has this handle for this document. Prepare the signature again."),
        "bn": ("প্রস্তুত স্বাক্ষর পাওয়া যায়নি", "এই দলিলের জন্য এই হ্যান্ডেলের কোনো মেয়াদি প্রস্তুত স্বাক্ষর আপনার নেই। আবার স্বাক্ষর প্রস্তুত করুন।"),
    },
    "signature_value_invalid": {
        "en": ("Signature value invalid", "The signature value does not verify with the prepared signer certificate ({reason}). Nothing was stored."),
        "bn": ("স্বাক্ষরের মান সঠিক নয়", "প্রস্তুত স্বাক্ষরকারীর সার্টিফিকেট দিয়ে স্বাক্ষরের মান যাচাই হয়নি ({reason})। কিছুই সংরক্ষণ করা হয়নি।"),
    },
    "pin_incorrect": {
        "en": ("Incorrect PIN", "The token rejected the PIN. Check it and try again; tokens lock after a few wrong PINs."),
        "bn": ("পিন সঠিক নয়", "টোকেন পিনটি গ্রহণ করেনি। পরীক্ষা করে আবার চেষ্টা করুন; কয়েকবার ভুল পিন দিলে টোকেন লক হয়ে যায়।"),
    },
    "pin_locked": {
        "en": ("Token locked", "The token is locked after too many wrong PINs. Ask the token's administrator to unlock it."),
        "bn": ("টোকেন লক হয়ে গেছে", "অনেকবার ভুল পিন দেওয়ায় টোকেন লক হয়ে গেছে। টোকেনের প্রশাসককে এটি খুলে দিতে বলুন।"),
    },
    "passphrase_required": {
        "en": ("Passphrase required", "Your signing credential is a PKCS#12 file whose passphrase is not kept by the archive: type it in the passphrase field (\"pin\" in the API)."),
        "bn": ("পাসওয়ার্ড প্রয়োজন", "আপনার স্বাক্ষরের সার্টিফিকেট একটি PKCS#12 ফাইলে আছে, যার পাসওয়ার্ড সংরক্ষণাগারে রাখা হয় না: পাসওয়ার্ডের ঘরে তা লিখুন (এপিআইতে \"pin\")।"),
    },
    "passphrase_incorrect": {
        "en": ("Incorrect passphrase", "The passphrase does not open your signing credential. Check it and try again."),
        "bn": ("পাসওয়ার্ড সঠিক নয়", "এই পাসওয়ার্ড দিয়ে আপনার স্বাক্ষরের সার্টিফিকেট খোলা যায়নি। পরীক্ষা করে আবার চেষ্টা করুন।"),
    },
    "csrf_invalid": {
        "en": ("Form expired", "The form was not sent from a page of this session, or the session has changed since. Open the page again and resend the form."),
        "bn": ("ফর্মের মেয়াদ শেষ", "ফর্মটি এই সেশনের কোনো পাতা থেকে পাঠানো হয়নি, অথবা এর মধ্যে সেশন বদলে গেছে। পাতাটি আবার খুলে ফর্মটি আবার পাঠান।"),
    },
    "signature_breaks_earlier": {
        "en": ("Signature would invalidate an earlier one", "Adding this signature would make the earlier signature '{field_name}' fail validation, so nothing was stored. A document certified without a field reserved for your role takes only an invisible signature: sign without \"visible\"."),
        "bn": ("এই স্বাক্ষর আগের স্বাক্ষরকে অবৈধ করবে", "এই স্বাক্ষর যোগ করলে আগের '{field_name}' স্বাক্ষরটি যাচাইয়ে ব্যর্থ হতো, তাই কিছুই সংরক্ষণ করা হয়নি। আপনার ভূমিকার জন্য সংরক্ষিত ঘর ছাড়া প্রত্যয়িত দলিলে কেবল অদৃশ্য স্বাক্ষর করা যায়: \"visible\" ছাড়া স্বাক্ষর করুন।"),
    },
    "signing_complete": {
        "en": ("All signatures present", "Every required signature of this document is present; it takes no more."),
        "bn": ("সব স্বাক্ষর সম্পন্ন", "এই দলিলের প্রয়োজনীয় সব স্বাক্ষর হয়ে গেছে; আর স্বাক্ষর যোগ করা যায় না।"),
    },
    "signature_role_taken": {
        "en": ("Role already signed", "The document is already signed in the role '{role}'."),
        "bn": ("এই ভূমিকায় স্বাক্ষর হয়ে গেছে", "দলিলটিতে '{role}' ভূমিকায় আগেই স্বাক্ষর করা হয়েছে।"),
    },
    "signature_out_of_order": {
        "en": ("Signature out of order", "The {expected_en} has not signed yet; the {role_en} signs after them."),
        "bn": ("স্বাক্ষরের ক্রম সঠিক নয়", "{expected_bn} এখনো স্বাক্ষর করেননি; ক্রম অনুযায়ী {role_bn} স্বাক্ষর করবেন তাঁর পরে।"),
    },
    "duplicate_signer": {
        "en": ("Already signed by you", "You have signed this document already; each signer signs once."),
        "bn": ("আপনি আগেই স্বাক্ষর করেছেন", "আপনি এই দলিলে আগেই স্বাক্ষর করেছেন; প্রত্যেক স্বাক্ষরকারী একবারই স্বাক্ষর করেন।"),
    },
    "signature_role_not_assigned": {
        "en": ("Role held by another officer", "Another officer holds the role of {role_en} on this document, so you cannot sign in it. The officer who uploaded the document or an administrator can change who holds the role."),
        "bn": ("ভূমিকাটি অন্য কর্মকর্তার", "এই দলিলে {role_bn}-এর ভূমিকা অন্য একজন কর্মকর্তার নামে নির্ধারিত, তাই আপনি এই ভূমিকায় স্বাক্ষর করতে পারবেন না। দলিলটি আপলোডকারী কর্মকর্তা বা প্রশাসক ভূমিকাটি অন্য কারও নামে নির্ধারণ করতে পারেন।"),
    },
    "signer_role_unknown": {
        "en": ("Unknown signing role", "A document of the kind {kind_en} has no signing role '{role}'. Its roles are: {roles}."),
        "bn": ("অজানা স্বাক্ষরের ভূমিকা", "{kind_bn} ধরনের দলিলে '{role}' নামে কোনো স্বাক্ষরের ভূমিকা নেই। এর ভূমিকাগুলো: {roles}।"),
    },
    "signer_user_not_found": {
        "en": ("Signer not found", "No user has the username '{username}', named as {role_en}."),
        "bn": ("স্বাক্ষরকারী পাওয়া যায়নি", "{role_bn} হিসেবে দেওয়া '{username}' নামের কোনো ব্যবহারকারী নেই।"),
    },
    "signer_user_inactive": {
        "en": ("Signer deactivated", "The user '{username}', named as {role_en}, is deactivated and cannot sign. Name an active officer."),
        "bn": ("স্বাক্ষরকারী নিষ্ক্রিয়", "{role_bn} হিসেবে দেওয়া ব্যবহারকারী '{username}' নিষ্ক্রিয়, তিনি স্বাক্ষর করতে পারবেন না। একজন সক্রিয় কর্মকর্তার নাম দিন।"),
    },
    "signer_not_officer": {
        "en": ("Signer is not an officer", "The user '{username}', named as {role_en}, has the role '{user_role}'. Only officers sign documents."),
        "bn": ("স্বাক্ষরকারী কর্মকর্তা নন", "{role_bn} হিসেবে দেওয়া ব্যবহারকারী '{username}'-এর ভূমিকা '{user_role}'। কেবল কর্মকর্তারা (officer) দলিলে স্বাক্ষর করেন।"),
    },
    "signer_assigned_twice": {
        "en": ("One signer for two roles", "The user '{username}' would hold the roles of both {role_en} and {other_en}. Each role of a document needs a different officer; the uploader holds the first role unless another officer is named for it."),
        "bn": ("এক স্বাক্ষরকারী দুই ভূমিকায়", "ব্যবহারকারী '{username}' একই সঙ্গে {role_bn} ও {other_bn} দুই ভূমিকায় নির্ধারিত হতেন। দলিলের প্রতিটি ভূমিকায় আলাদা কর্মকর্তা প্রয়োজন; অন্য কারও নাম না দিলে প্রথম ভূমিকাটি আপলোডকারীর।"),
    },
    "signer_change_forbidden": {
        "en": ("Not allowed to change signers", "Only the officer who uploaded this document or an administrator can change who holds its signing roles."),
        "bn": ("স্বাক্ষরকারী বদলানোর অনুমতি নেই", "কেবল দলিলটি আপলোডকারী কর্মকর্তা বা প্রশাসক এর স্বাক্ষরের ভূমিকা অন্য কারও নামে নির্ধারণ করতে পারেন।"),
    },
    "timestamp_unavailable": {
        "en": ("Timestamp service unavailable", "The timestamp service did not answer, so the document was not signed. Try again later."),
        "bn": ("টাইমস্ট্যাম্প সেবা পাওয়া যাচ্ছে না", "টাইমস্ট্যাম্প সেবা সাড়া দেয়নি, তাই দলিলে স্বাক্ষর করা হয়নি। পরে আবার চেষ্টা করুন।"),
    },
    "document_not_signable": {
        "en": ("Document cannot be signed", "The current revision does not allow another signature: {reason_en}."),
        "bn": ("দলিলে স্বাক্ষর করা যাবে না", "বর্তমান সংস্করণে আর স্বাক্ষর যোগ করা যায় না: {reason_bn}।"),
    },
    "revision_conflict": {
        "en": ("Document changed meanwhile", "Another revision of this document was stored at the same time. Fetch the document and try again."),
        "bn": ("এর মধ্যে দলিলটি পরিবর্তিত হয়েছে", "একই সময়ে এই দলিলের আরেকটি সংস্করণ সংরক্ষিত হয়েছে। দলিলটি আবার দেখে পুনরায় চেষ্টা করুন।"),
    },
    "storage_write_failed": {
        "en": ("Storage write failed", "The object store rejected the write because the checksum did not match. Nothing was stored; try again."),
        "bn": ("সংরক্ষণ করা যায়নি", "চেকসাম না মেলায় অবজেক্ট স্টোরেজ লেখাটি গ্রহণ করেনি। কিছুই সংরক্ষণ করা হয়নি; আবার চেষ্টা করুন।"),
    },
    "fixity_mismatch": {
        "en": ("Fixity check failed", "The stored bytes of revision {revision} do not match the recorded SHA-256. The document was not served; the failure was recorded."),
        "bn": ("অখণ্ডতা যাচাই ব্যর্থ", "সংস্করণ {revision}-এর সংরক্ষিত বাইট লিপিবদ্ধ SHA-256 হ্যাশের সাথে মেলেনি। দলিলটি দেওয়া হয়নি; ঘটনাটি লিপিবদ্ধ করা হয়েছে।"),
    },
    "stored_object_missing": {
        "en": ("Stored object missing", "The object store no longer has revision {revision} of this document. The failure was recorded."),
        "bn": ("সংরক্ষিত ফাইল পাওয়া যায়নি", "সংরক্ষণাগারে এই দলিলের সংস্করণ {revision} আর নেই। ঘটনাটি লিপিবদ্ধ করা হয়েছে।"),
    },
    "storage_unavailable": {
        "en": ("Storage unavailable", "The object store cannot be reached. Try again later."),
        "bn": ("সংরক্ষণাগারে পৌঁছানো যাচ্ছে না", "অবজেক্ট স্টোরেজের সাথে সংযোগ করা যাচ্ছে না। পরে আবার চেষ্টা করুন।"),
    },
    "database_unavailable": {
        "en": ("Database unavailable", "The database cannot be reached. Try again later; an upload retried with the same Idempotency-Key is stored only once."),
        "bn": ("ডেটাবেসে পৌঁছানো যাচ্ছে না", "ডেটাবেসের সাথে সংযোগ করা যাচ্ছে না। পরে আবার চেষ্টা করুন। একই Idempotency-Key দিয়ে আবার পাঠানো আপলোড একবারই সংরক্ষিত হবে।"),
    },
    "internal_error": {
        "en": ("Internal error", "An unexpected error occurred. Quote the request id when you report it."),
        "bn": ("অভ্যন্তরীণ ত্রুটি", "একটি অপ্রত্যাশিত ত্রুটি ঘটেছে। জানানোর সময় অনুরোধের আইডি উল্লেখ করুন।"),
    },
}


# Notes about a whole validation report, shown beside its JSON fields.
REPORT_NOTICES = {
    "non_strict_reading": {
        "en": (
            "The file's structure is damaged: it could be read only after its cross-reference "
            "data was repaired. Other PDF readers may repair it differently."
        ),
        "bn": (
            "ফাইলটির কাঠামো ত্রুটিপূর্ণ: এর ক্রস-রেফারেন্স তথ্য মেরামতের পরেই কেবল এটি পড়া গেছে। "
            "অন্য PDF রিডার এটি ভিন্নভাবে মেরামত করতে পারে।"
        ),
    },
    "leading_bytes": {
        "en": (
            "The file has {count} bytes before its PDF header (%PDF-), which no signature covers. "
            "Positions in the file were counted from the header."
        ),
        "bn": (
            "ফাইলটির PDF হেডারের (%PDF-) আগে {count} বাইট আছে, যা কোনো স্বাক্ষরের আওতায় নেই। "
            "ফাইলের অবস্থানগুলো হেডার থেকে গণনা করা হয়েছে।"
        ),
    },
}


def report_notices(report: dict, language: str) -> list[dict[str, str]]:
    """Return the localised notices about a validation report's ``to_dict()`` output."""
    notices = []
    if report.get("reading") == "non-strict":
        texts = REPORT_NOTICES["non_strict_reading"]
        notices.append({"code": "non_strict_reading", "message": texts.get(language) or texts["en"]})
    if report.get("leading_bytes"):
        texts = REPORT_NOTICES["leading_bytes"]
        count = localise_number(report["leading_bytes"], language)
        message = (texts.get(language) or texts["en"]).format(count=count)
        notices.append({"code": "leading_bytes", "message": message})
    return notices


def negotiate_language() -> str:
    """Pick ``bn`` or ``en`` from the request's ``Accept-Language``; Bengali by default."""
    if not request.accept_languages:
        return DEFAULT_LANGUAGE
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


def localise_number(value: object, language: str) -> str:
    if language != "bn":
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return format_number_bn(value)
    return to_bengali_digits(str(value))


def field_label(field: str, language: str) -> str:
    return FIELD_LABELS.get(field, {}).get(language, field)


def problem_text(code: str, language: str, params: dict[str, object]) -> tuple[str, str]:
    """Return the localised title and detail of a problem code."""
    texts = PROBLEMS.get(code) or PROBLEMS["internal_error"]
    title, template = texts.get(language) or texts["en"]
    values: dict[str, object] = {}
    for key, value in params.items():
        values[key] = localise_number(value, language) if isinstance(value, int) else value
    if "field" in params:
        values["field_label"] = field_label(str(params["field"]), language)
    try:
        detail = template.format(**values)
    except (KeyError, IndexError):
        detail = template
    return title, _end_sentence(detail, language)


def _end_sentence(text: str, language: str) -> str:
    """End a detail with the language's full stop when a reason filled in at its end has none."""
    stop = "।" if language == "bn" else "."
    if not text or text[-1] in "।.?!)\"'":
        return text
    return text + stop
