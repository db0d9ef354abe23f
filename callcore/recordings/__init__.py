"""Call recordings (T-9): every answered queue call recorded over ARI, stored, linked, served."""
