"""Extra vision encoders mixed into the primary patch grid."""
