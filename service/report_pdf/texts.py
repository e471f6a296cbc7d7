"""Bengali and English texts of the PDF validation report.

Every label is a pair (Bengali, English). Terms follow the ETSI EN 319 102-1
names where the report shows a code, and the Bengali words of the ICT Act 2006,
the CCA and e-Nothi usage (বৈধ, বাতিলকৃত সার্টিফিকেট, মেয়াদোত্তীর্ণ, যাচাই নীতি).
"""

from __future__ import annotations

Pair = tuple[str, str]

LABELS: dict[str, Pair] = {
    "title": ("স্বাক্ষর যাচাই প্রতিবেদন", "Signature validation report"),
    "subtitle": ("দলিল — ডিজিটাল স্বাক্ষরিত দলিলের সংরক্ষণাগার",
                 "Dolil, the archive of digitally signed documents"),
    "section_document": ("দলিল", "Document"),
    "section_result": ("সামগ্রিক ফল", "Overall result"),
    "section_signature": ("স্বাক্ষর", "Signature"),
    "section_certificate": ("সার্টিফিকেট", "Certificate"),
    "file_name": ("ফাইলের নাম", "File name"),
    "document_id": ("দলিলের আইডি", "Document ID"),
    "document_title": ("বিষয়", "Title"),
    "revision": ("সংস্করণ নম্বর", "Revision"),
    "sha256": ("SHA-256 হ্যাশ মান", "SHA-256 hash"),
    "size": ("আকার", "Size"),
    "fixity": ("অখণ্ডতা যাচাই", "Fixity check"),
    "validated_at": ("যাচাইয়ের সময়", "Validated at"),
    "policy": ("যাচাই নীতি", "Validation policy"),
    "policy_fingerprint": ("যাচাই নীতির ফিঙ্গারপ্রিন্ট", "Policy fingerprint"),
    "trust_anchors": ("বিশ্বস্ত রুট সার্টিফিকেট", "Trust anchors"),
    "trailing_bytes": ("শেষ সংস্করণের পরের বাইট", "Bytes after the last revision"),
    "signature_count": ("স্বাক্ষরের সংখ্যা", "Number of signatures"),
    "indication": ("ফল", "Indication"),
    "sub_indication": ("কারণ", "Sub-indication"),
    "explanation": ("ব্যাখ্যা", "Explanation"),
    "field_name": ("স্বাক্ষরের ঘর", "Signature field"),
    "signer_subject": ("যার নামে ইস্যুকৃত", "Signer (subject)"),
    "subject": ("যার নামে ইস্যুকৃত", "Subject"),
    "issuer": ("যার দ্বারা ইস্যুকৃত", "Issuer"),
    "serial": ("ক্রমিক নম্বর", "Serial number"),
    "validity": ("মেয়াদ", "Validity"),
    "signing_time": ("স্বাক্ষরের সময় (স্বাক্ষরকারীর দাবি)", "Claimed signing time"),
    "timestamps": ("টাইমস্ট্যাম্প", "Time-stamps"),
    "poe_time": ("অস্তিত্বের প্রমাণের সময়", "Proof of existence"),
    "level": ("PAdES স্তর", "PAdES level"),
    "coverage": ("স্বাক্ষরের আওতা", "Coverage"),
    "signed_revision": ("স্বাক্ষরিত PDF সংস্করণ", "Signed PDF revision"),
    "archive": ("সংরক্ষণাগারে স্বাক্ষর", "Signed in the archive"),
    "archive_revision": ("সংস্করণ", "revision"),
    "docmdp": ("DocMDP অনুমতি", "DocMDP permissions"),
    "modified": ("স্বাক্ষরের পর পরিবর্তন", "Modified after signing"),
    "modification_level": ("পরিবর্তনের ধরন", "Modification level"),
    "changes": ("পরিবর্তনসমূহ", "Changes"),
    "visual_check": ("পৃষ্ঠার দৃশ্যমান তুলনা", "Visual comparison of pages"),
    "visual_differences": ("দৃশ্যমান পার্থক্য", "Visual differences"),
    "revocation": ("বাতিলকরণ যাচাই", "Revocation check"),
    "chain": ("সার্টিফিকেট চেইন", "Certificate chain"),
    "role": ("ভূমিকা", "Role"),
    "revocation_status": ("সার্টিফিকেটের অবস্থা", "Revocation status"),
    "revocation_data": ("বাতিলকরণ তথ্য ও উৎস", "Revocation data and source"),
    "warnings": ("সতর্কতা", "Warnings"),
    "none": ("নেই", "none"),
    "page": ("পৃষ্ঠা", "Page"),
    "english_note": ("যাচাইকারী প্রোগ্রামের ইংরেজি বার্তা", "messages of the validator, in English"),
    # pyHanko numbers a PDF's incremental updates from 0, the original file;
    # one archive revision may add several (a signature, DSS, a time-stamp).
    "pdf_revision_note": ("এখানে সংস্করণ মানে PDF-এর ভেতরের হালনাগাদ, মূল ফাইল ০ থেকে গোনা; সংরক্ষণাগারের সংস্করণ নম্বর নয়",
                          "revisions here are the PDF's own updates, counted from 0 for the original file, "
                          "not the archive's revision numbers"),
}

# ETSI EN 319 102-1 main indications, and NO_SIGNATURE for a PDF without any.
INDICATIONS: dict[str, Pair] = {
    "TOTAL_PASSED": ("বৈধ", "Valid"),
    "TOTAL_FAILED": ("বৈধ নয়", "Invalid"),
    "INDETERMINATE": ("অনির্ধারিত", "Indeterminate"),
    "NO_SIGNATURE": ("স্বাক্ষর নেই", "No signature"),
}

# Plain-language explanations of the document-level indication, for readers who are not PKI experts.
DOCUMENT_EXPLANATIONS: dict[str, Pair] = {
    "TOTAL_PASSED": (
        "দলিলের প্রতিটি স্বাক্ষর বৈধ। স্বাক্ষরের পর দলিলে অননুমোদিত পরিবর্তন হয়নি, এবং প্রতিটি "
        "স্বাক্ষরকারীর সার্টিফিকেট যাচাই নীতির একটি বিশ্বস্ত রুট সার্টিফিকেট পর্যন্ত যাচাই করা গেছে।",
        "Every signature in the document is valid. Nothing was changed without permission after "
        "signing, and each signer's certificate leads to a trust anchor of the validation policy.",
    ),
    "TOTAL_FAILED": (
        "অন্তত একটি স্বাক্ষর বৈধ নয়। প্রতিটি স্বাক্ষরের কারণ নিচে দেওয়া হলো।",
        "At least one signature is invalid. The reason for each signature is given below.",
    ),
    "INDETERMINATE": (
        "অন্তত একটি স্বাক্ষরের বৈধতা নির্ধারণ করা যায়নি, তবে কোনো স্বাক্ষর অবৈধ প্রমাণিত হয়নি। "
        "প্রতিটি স্বাক্ষরের কারণ নিচে দেওয়া হলো। কিছু ক্ষেত্রে পরে আবার যাচাই করলে ফল বদলাতে পারে।",
        "The validity of at least one signature could not be determined, and none was found "
        "invalid. The reason for each signature is given below. For some reasons a later "
        "validation can give another result.",
    ),
    "NO_SIGNATURE": (
        "দলিলে কোনো ডিজিটাল স্বাক্ষর নেই, তাই কে স্বাক্ষর করেছেন বা স্বাক্ষরের পর দলিল "
        "পরিবর্তিত হয়েছে কি না, তা এই প্রতিবেদন বলতে পারে না।",
        "The document contains no digital signature, so this report cannot tell who signed it "
        "or whether it changed after signing.",
    ),
    "FIXITY_FAILURE": (
        "সংরক্ষিত ফাইলের হ্যাশ মান সংরক্ষণের সময় নথিভুক্ত SHA-256 হ্যাশ মানের সাথে মেলেনি। "
        "এই বাইটগুলো আর্কাইভ করা দলিল নয়, তাই স্বাক্ষর যাচাই করা হয়নি।",
        "The stored bytes do not match the SHA-256 recorded when the revision was archived. "
        "They are not the archived document, so no signature was validated.",
    ),
}

# Sub-indications: a short label and what it means.
SUB_INDICATIONS: dict[str, tuple[str, str, str, str]] = {
    "HASH_FAILURE": (
        "দলিল পরিবর্তিত — স্বাক্ষরের পর দলিলে পরিবর্তন হয়েছে (হ্যাশ মেলেনি)",
        "Document changed after signing (hash mismatch)",
        "স্বাক্ষরের আওতাভুক্ত বাইটের হ্যাশ মান স্বাক্ষরিত হ্যাশ মানের সাথে মেলেনি।",
        "The bytes covered by the signature do not match the signed digest.",
    ),
    "SIG_CRYPTO_FAILURE": (
        "স্বাক্ষর যাচাই ব্যর্থ",
        "Signature value does not verify",
        "স্বাক্ষরকারীর পাবলিক কী দিয়ে স্বাক্ষরের মান যাচাই করা যায়নি।",
        "The signature value does not verify with the signer's public key.",
    ),
    "FORMAT_FAILURE": (
        "স্বাক্ষরের বিন্যাস সঠিক নয়",
        "Format failure",
        "স্বাক্ষর বা স্বাক্ষরের পরের পরিবর্তন প্রত্যাশিত বিন্যাস মানে না। বিস্তারিত সতর্কতায় দেখুন।",
        "The signature, or what was changed after signing, does not have the expected form. "
        "The warnings give the details.",
    ),
    "REVOKED": (
        "সার্টিফিকেট বাতিলকৃত",
        "Certificate revoked",
        "টাইমস্ট্যাম্প প্রমাণ করে যে সার্টিফিকেট বাতিলের পরে স্বাক্ষর করা হয়েছে।",
        "A time-stamp proves that the signature was made after the certificate was revoked.",
    ),
    "REVOKED_NO_POE": (
        "সার্টিফিকেট বাতিলকৃত — বাতিলের আগে স্বাক্ষর হয়েছিল তার প্রমাণ নেই",
        "Certificate revoked, no proof of existence before the revocation",
        "স্বাক্ষরকারীর সার্টিফিকেট বাতিলকৃত, এবং বাতিলের আগে স্বাক্ষরটি বিদ্যমান ছিল তার কোনো প্রমাণ নেই।",
        "The signer's certificate is revoked and nothing proves that the signature existed "
        "before the revocation.",
    ),
    "REVOKED_CA_NO_POE": (
        "সার্টিফিকেট বাতিলকৃত — বাতিলের আগে স্বাক্ষর হয়েছিল তার প্রমাণ নেই",
        "CA certificate revoked, no proof of existence before the revocation",
        "চেইনের একটি ইস্যুকারী সার্টিফিকেট বাতিলকৃত, এবং বাতিলের আগে স্বাক্ষরটি বিদ্যমান ছিল তার কোনো প্রমাণ নেই।",
        "An issuing CA certificate is revoked and nothing proves that the signature existed "
        "before the revocation.",
    ),
    "OUT_OF_BOUNDS_NO_POE": (
        "সার্টিফিকেটের মেয়াদোত্তীর্ণ — স্বাক্ষরের সময় মেয়াদ ছিল তার প্রমাণ নেই",
        "Certificate outside its validity period, no proof of existence",
        "যাচাইয়ের সময় স্বাক্ষরকারীর সার্টিফিকেট মেয়াদের বাইরে, এবং মেয়াদের মধ্যে স্বাক্ষর হয়েছিল তার প্রমাণ নেই।",
        "The signer's certificate is outside its validity period at the validation time, and "
        "nothing proves that the signature existed while it was valid.",
    ),
    "OUT_OF_BOUNDS_NOT_REVOKED": (
        "সার্টিফিকেটের মেয়াদোত্তীর্ণ — স্বাক্ষরের সময় মেয়াদ ছিল তার প্রমাণ নেই",
        "Certificate outside its validity period",
        "স্বাক্ষরকারীর সার্টিফিকেট মেয়াদের বাইরে।",
        "The signer's certificate is outside its validity period.",
    ),
    "EXPIRED": (
        "সার্টিফিকেটের মেয়াদোত্তীর্ণ",
        "Certificate expired",
        "স্বাক্ষরের সময়ের আগেই সার্টিফিকেটের মেয়াদ শেষ হয়েছিল।",
        "The certificate had expired before the signing time.",
    ),
    "NOT_YET_VALID": (
        "সার্টিফিকেট তখনো কার্যকর হয়নি",
        "Certificate not yet valid",
        "স্বাক্ষরের সময় সার্টিফিকেট তখনো কার্যকর হয়নি।",
        "The certificate was not yet valid at the signing time.",
    ),
    "NO_CERTIFICATE_CHAIN_FOUND": (
        "সার্টিফিকেট চেইন পাওয়া যায়নি",
        "No certificate chain found",
        "স্বাক্ষরকারীর সার্টিফিকেট থেকে যাচাই নীতির কোনো বিশ্বস্ত রুট সার্টিফিকেট পর্যন্ত চেইন পাওয়া যায়নি।",
        "No certificate path leads from the signer to a trust anchor of the validation policy.",
    ),
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": (
        "সার্টিফিকেট চেইন যাচাই করা যায়নি",
        "Certificate chain failed validation",
        "বিশ্বস্ত রুট সার্টিফিকেট পর্যন্ত সার্টিফিকেট চেইন যাচাই করা যায়নি।",
        "The certificate path to the trust anchor failed validation.",
    ),
    "CHAIN_CONSTRAINTS_FAILURE": (
        "সার্টিফিকেট চেইন যাচাই করা যায়নি",
        "Chain constraints failure",
        "চেইনের একটি সার্টিফিকেট কোনো শর্ত (যেমন কী-এর ব্যবহার) মানে না।",
        "A certificate in the path violates a constraint such as its key usage.",
    ),
    "NO_SIGNING_CERTIFICATE_FOUND": (
        "স্বাক্ষরকারীর সার্টিফিকেট পাওয়া যায়নি",
        "No signing certificate found",
        "স্বাক্ষরের মধ্যে স্বাক্ষরকারীর সার্টিফিকেট পাওয়া যায়নি।",
        "The signer's certificate is not in the signature.",
    ),
    "CRYPTO_CONSTRAINTS_FAILURE": (
        "অ্যালগরিদম আর নিরাপদ নয়",
        "Cryptographic constraints failure",
        "স্বাক্ষর বা চেইনে ব্যবহৃত একটি অ্যালগরিদম বা কী-এর আকার যাচাই নীতিতে গ্রহণযোগ্য নয়।",
        "An algorithm or key size used by the signature or the path is not acceptable under the policy.",
    ),
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": (
        "অ্যালগরিদম আর নিরাপদ নয়",
        "Cryptographic constraints failure, no proof of existence",
        "ব্যবহৃত একটি অ্যালগরিদম আর গ্রহণযোগ্য নয়, এবং তা গ্রহণযোগ্য থাকার সময় স্বাক্ষর হয়েছিল তার প্রমাণ নেই।",
        "An algorithm used is no longer acceptable, and nothing proves that the signature "
        "existed while it was.",
    ),
    "SIG_CONSTRAINTS_FAILURE": (
        "যাচাই নীতির শর্ত পূরণ হয়নি",
        "Signature constraints failure",
        "স্বাক্ষরটি যাচাই নীতির শর্ত পূরণ করে না।",
        "The signature does not meet the constraints of the validation policy.",
    ),
    "POLICY_PROCESSING_ERROR": (
        "যাচাই নীতির শর্ত পূরণ হয়নি",
        "Policy processing error",
        "যাচাই নীতি প্রয়োগ করা যায়নি।",
        "The validation policy could not be applied.",
    ),
    "TRY_LATER": (
        "বাতিলকরণ তথ্য হালনাগাদ নয় — পরে আবার যাচাই করুন",
        "Revocation data not available, try later",
        "সার্টিফিকেট বাতিল হয়েছে কি না তা জানার মতো CRL বা OCSP তথ্য পাওয়া যায়নি। পরে আবার যাচাই করুন।",
        "No usable CRL or OCSP data was found to tell whether a certificate is revoked. "
        "Validate again later.",
    ),
    "SIGNED_DATA_NOT_FOUND": (
        "স্বাক্ষরিত উপাত্ত পাওয়া যায়নি",
        "Signed data not found",
        "স্বাক্ষর যে উপাত্তের উপর করা হয়েছে তা পাওয়া যায়নি।",
        "The data that the signature covers was not found.",
    ),
    "TIMESTAMP_ORDER_FAILURE": (
        "টাইমস্ট্যাম্পের ক্রম সঠিক নয়",
        "Time-stamp order failure",
        "টাইমস্ট্যাম্পগুলোর সময়ের ক্রম সঠিক নয়।",
        "The times of the time-stamps are not in the expected order.",
    ),
    "NO_POE": (
        "নির্দিষ্ট সময়ে অস্তিত্বের প্রমাণ নেই",
        "No proof of existence",
        "প্রয়োজনীয় সময়ে স্বাক্ষরটি বিদ্যমান ছিল তার প্রমাণ নেই।",
        "Nothing proves that the signature existed at the required time.",
    ),
    "FIXITY_FAILURE": (
        "সংরক্ষিত বাইট মেলেনি (অখণ্ডতা যাচাই ব্যর্থ)",
        "Fixity failure",
        "সংরক্ষিত ফাইলের হ্যাশ মান নথিভুক্ত হ্যাশ মানের সাথে মেলেনি।",
        "The stored bytes do not match the recorded SHA-256.",
    ),
}

SIGNATURE_EXPLANATIONS: dict[str, Pair] = {
    "TOTAL_PASSED": (
        "স্বাক্ষরটি বৈধ: স্বাক্ষরের পর দলিলে অননুমোদিত পরিবর্তন হয়নি এবং সার্টিফিকেট চেইন যাচাই করা গেছে।",
        "The signature is valid: nothing was changed without permission after signing, and the "
        "certificate chain validated.",
    ),
}

COVERAGE: dict[str, Pair] = {
    "ENTIRE_FILE": ("সম্পূর্ণ ফাইল", "the entire file"),
    "ENTIRE_REVISION": ("স্বাক্ষরিত সম্পূর্ণ সংস্করণ; পরে আরও সংস্করণ যোগ হয়েছে",
                        "the entire signed revision; later revisions follow"),
    "CONTIGUOUS_BLOCK_FROM_START": ("ফাইলের শুরু থেকে একটানা অংশ", "a contiguous block from the start"),
    "UNCLEAR": ("অস্পষ্ট", "unclear"),
}

DOCMDP: dict[str | None, Pair] = {
    "NO_CHANGES": ("সার্টিফিকেশন স্বাক্ষর: কোনো পরিবর্তনের অনুমতি নেই",
                   "certification signature: no changes allowed"),
    "FILL_FORMS": ("সার্টিফিকেশন স্বাক্ষর: ফর্ম পূরণ ও স্বাক্ষরের অনুমতি আছে",
                   "certification signature: form filling and signing allowed"),
    "ANNOTATE": ("সার্টিফিকেশন স্বাক্ষর: ফর্ম পূরণ, স্বাক্ষর ও মন্তব্যের অনুমতি আছে",
                 "certification signature: form filling, signing and annotations allowed"),
    None: ("প্রযোজ্য নয় — এটি অনুমোদন স্বাক্ষর", "not applicable: an approval signature"),
}

MODIFICATION_LEVELS: dict[str, Pair] = {
    "NONE": ("কোনো পরিবর্তন নেই", "none"),
    "LTA_UPDATES": ("শুধু দীর্ঘমেয়াদি যাচাইয়ের তথ্য ও টাইমস্ট্যাম্প", "only long-term validation data and time-stamps"),
    "FORM_FILLING": ("ফর্ম পূরণ ও স্বাক্ষর", "form filling and signatures"),
    "ANNOTATIONS": ("মন্তব্য (অ্যানোটেশন)", "annotations"),
    "OTHER": ("অন্যান্য পরিবর্তন", "other changes"),
}

REVOCATION_STATUS: dict[str, Pair] = {
    "good": ("বাতিল হয়নি", "not revoked"),
    "revoked": ("বাতিলকৃত সার্টিফিকেট", "revoked"),
    "unknown": ("অবস্থা অজানা", "unknown"),
    "not_checked": ("যাচাই করা হয়নি", "not checked"),
    "no_data": ("বাতিলকরণ তথ্য পাওয়া যায়নি", "no revocation data"),
    "not_applicable": ("বিশ্বস্ত রুট সার্টিফিকেট, যাচাই প্রযোজ্য নয়", "trust anchor, not checked"),
}

REVOCATION_SOURCES: dict[str, Pair] = {
    "embedded": ("দলিলে সংযুক্ত", "embedded in the document"),
    "fetched": ("যাচাইয়ের সময় সংগৃহীত", "fetched during validation"),
}

REVOCATION_MODES: dict[str, Pair] = {
    "hard-fail": ("বাতিলকরণ তথ্য আবশ্যক (hard-fail)", "revocation data required (hard-fail)"),
    "soft-fail": ("বাতিলকরণ তথ্য না পেলেও গ্রহণযোগ্য (soft-fail)", "accepted without revocation data (soft-fail)"),
}

CERTIFICATE_ROLES: dict[str, Pair] = {
    "signer": ("স্বাক্ষরকারী", "signer"),
    "ca": ("ইস্যুকারী সার্টিফিকেট প্রদানকারী কর্তৃপক্ষ", "issuing CA"),
    "trust_anchor": ("বিশ্বস্ত রুট সার্টিফিকেট", "trust anchor"),
}

TIMESTAMP_TYPES: dict[str, Pair] = {
    "signature": ("স্বাক্ষরের টাইমস্ট্যাম্প", "signature time-stamp"),
    "document": ("দলিলের টাইমস্ট্যাম্প", "document time-stamp"),
}

VISUAL_CHECK: dict[str, Pair] = {
    "passed": ("পার্থক্য নেই", "no differences"),
    "differences": ("পার্থক্য পাওয়া গেছে", "differences found"),
    "not_needed": ("প্রয়োজন হয়নি: স্বাক্ষরের পর কোনো সংস্করণ নেই", "not needed: no revision follows the signature"),
    "disabled": ("বন্ধ", "disabled"),
    "failed": ("সম্পন্ন হয়নি", "failed"),
}

FIXITY: dict[bool, Pair] = {
    True: ("মিলেছে", "passed"),
    False: ("মেলেনি", "failed"),
}

YES_NO: dict[bool, Pair] = {
    True: ("হ্যাঁ", "yes"),
    False: ("না", "no"),
}

BANGLADESH_TIME: Pair = ("বাংলাদেশ সময়", "Bangladesh time")
