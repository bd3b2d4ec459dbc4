package io.cohortsync.mixpanel;

/** Why a member of an otherwise valid request was skipped (counted, never fatal). */
public enum SkipReason {
    /** Not a JSON object. */
    NOT_AN_OBJECT,
    /** Neither {@code mixpanel_distinct_id} nor {@code $distinct_id}. */
    MISSING_ID,
    /** The id is empty or blank. */
    EMPTY_ID,
    /** The id is neither a string nor an integer. */
    INVALID_ID_TYPE,
    /** Over DynamoDB's 1,024-byte sort-key limit. */
    ID_TOO_LONG,
    /** Not storable: unpaired UTF-16 surrogates, control characters, or U+FFFE/U+FFFF (SQS refuses them). */
    UNSTORABLE_ID,
    /** Identity mapping is on and the member lacks a usable value of the configured user-id property. */
    MISSING_USER_ID,
    /** The same id appeared earlier in the same request. */
    DUPLICATE
}
