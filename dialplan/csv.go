package dialplan

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// CSVColumns are the columns of a bulk import file (DESIGN.md, "CSV bulk
// import"), in the documented order; a file may use any order and leave
// columns out, but must have a header and an id column.
var CSVColumns = []string{
	"id", "first_name", "last_name", "email", "extension", "password", "direct_number",
	"caller_id", "forward_number", "forward_when", "forward_screening", "aliases",
}

// MaxImportRows bounds the data rows of one import.
const MaxImportRows = 10000

// Column indexes into csvRow.cells, in CSVColumns order.
const (
	colID = iota
	colFirstName
	colLastName
	colEmail
	colExtension
	colPassword
	colDirectNumber
	colCallerID
	colForwardNumber
	colForwardWhen
	colForwardScreening
	colAliases
	numColumns
)

// ImportStatus is the outcome of one row.
type ImportStatus string

// Row outcomes (contract: created|updated|failed).
const (
	ImportCreated ImportStatus = "created"
	ImportUpdated ImportStatus = "updated"
	ImportFailed  ImportStatus = "failed"
)

// ImportRow is one line of the per-row report.
type ImportRow struct {
	// Row is the row's line number in the file; the header is row 1, as
	// a spreadsheet numbers it.
	Row    int          `json:"row"`
	ID     string       `json:"id"`
	Status ImportStatus `json:"status"`
	Error  string       `json:"error,omitempty"`
	// Field is the CSV column the error is about, when there is one.
	Field string `json:"field,omitempty"`
	// Password is the SIP password generated for a new user of a file from
	// another provider (csv_foreign.go). It is in this report only: the
	// directory keeps its digests, so it cannot be shown again.
	Password string `json:"password,omitempty"`
}

// ImportReport is the result of a bulk import: one ImportRow per data row,
// in file order, and the totals.
type ImportReport struct {
	// Format is the other provider's layout the file was recognised as
	// ("iplum", "multiline"); empty for switchboard's own columns.
	Format  string      `json:"format,omitempty"`
	Rows    []ImportRow `json:"rows"`
	Created int         `json:"created"`
	Updated int         `json:"updated"`
	Failed  int         `json:"failed"`
}

// csvFile is a parsed import file: which columns it has and its rows.
type csvFile struct {
	has  [numColumns]bool
	rows []csvRow
	// format names the other provider's layout the file came in
	// (csv_foreign.go), "" for ours; such a file gets ids and passwords made.
	format string
}

type csvRow struct {
	line  int
	cells [numColumns]string
	err   string // a row-level parse problem (wrong number of cells)
}

// cell returns the trimmed value of column c ("" when the file lacks it).
func (r *csvRow) cell(c int) string { return r.cells[c] }

// parseCSV reads an import file. Whole-file problems — no header, an unknown,
// repeated or missing id column, a syntax error, too many rows — are returned
// as Problems with Field "header" (or "row N"); a row with the wrong number
// of cells is kept and reported on its own.
func parseCSV(src io.Reader) (*csvFile, error) { return parseCSVWith(src, nil) }

// parseCSVWith is parseCSV telling read every progressEvery rows.
func parseCSVWith(src io.Reader, read func(rows int)) (*csvFile, error) {
	r := csv.NewReader(src)
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.TrimLeadingSpace = true
	r.ReuseRecord = true

	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, Problems{{Field: "header", Reason: "empty file: the first row must be a header naming the columns (" + strings.Join(CSVColumns, ",") + ")"}}
	}
	if err != nil {
		return nil, csvSyntax(err)
	}
	var idx []int // file column -> our column (or a foreign pseudo-column)
	f := &csvFile{}
	ff := detectForeign(header)
	var mapped [numColumns]bool // our columns a foreign header has already named
	if ff != nil {
		f.format = ff.name
	}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff") // spreadsheet UTF-8 BOM
		}
		if ff != nil {
			c := ff.column(normHeader(name))
			switch {
			case c >= 0 && mapped[c]:
				return nil, Problems{{Field: "header", Reason: fmt.Sprintf("column %q appears twice", name)}}
			case c >= 0:
				f.has[c], mapped[c] = true, true
			case c == colNumber2:
				f.has[colDirectNumber] = true
			}
			idx = append(idx, c)
			continue
		}
		c := columnIndex(name)
		switch {
		case c < 0:
			return nil, Problems{{Field: "header", Reason: fmt.Sprintf("unknown column %q (columns are %s)", name, strings.Join(CSVColumns, ","))}}
		case f.has[c]:
			return nil, Problems{{Field: "header", Reason: fmt.Sprintf("column %q appears twice", name)}}
		}
		f.has[c] = true
		idx = append(idx, c)
	}
	if !f.has[colID] && ff == nil {
		return nil, Problems{{Field: "header", Reason: "missing column \"id\" (the header must name the columns: " + strings.Join(CSVColumns, ",") + ")"}}
	}
	var extra []foreignRow // cells of a foreign file's rows that have no column of ours
	tooMany := 0           // line of the first row over MaxImportRows
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, csv.ErrFieldCount) {
			return nil, csvSyntax(err)
		}
		line, _ := r.FieldPos(0)
		if len(f.rows) == MaxImportRows {
			// Read on: a body over the reader's byte limit is told apart
			// from one with too many rows.
			if tooMany == 0 {
				tooMany = line
			}
			continue
		}
		row := csvRow{line: line}
		if len(rec) != len(idx) {
			row.err = fmt.Sprintf("%d cells, but the header has %d columns", len(rec), len(idx))
		}
		var x foreignRow
		for i, v := range rec {
			if i >= len(idx) {
				continue
			}
			switch c := idx[i]; c {
			case colIgnore:
			case colFullName:
				x.fullName = strings.TrimSpace(v)
			case colNumber2:
				x.number2 = strings.TrimSpace(v)
			default:
				row.cells[c] = strings.TrimSpace(v)
			}
		}
		f.rows = append(f.rows, row)
		if ff != nil {
			extra = append(extra, x)
		}
		if read != nil && len(f.rows)%progressEvery == 0 {
			read(len(f.rows))
		}
	}
	if tooMany > 0 {
		return nil, Problems{{Field: fmt.Sprintf("row %d", tooMany), Reason: fmt.Sprintf("more than %d rows; split the file", MaxImportRows)}}
	}
	if ff != nil {
		finishForeign(f, extra)
	}
	return f, nil
}

func columnIndex(name string) int {
	for i, c := range CSVColumns {
		if c == name {
			return i
		}
	}
	return -1
}

func csvSyntax(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return Problems{{Field: fmt.Sprintf("row %d", pe.Line), Reason: "CSV syntax: " + pe.Err.Error()}}
	}
	return fmt.Errorf("read csv: %w", err)
}

// Import applies a CSV bulk import (DESIGN.md, "CSV bulk import") to the
// tenant domain and returns the per-row report.
//
// The file is parsed first; a whole-file problem returns Problems and changes
// nothing. Then one UpdateTenant applies every row to a working copy of the
// tenant, each row checked on its own against indexes kept up to date as rows
// land, so a bad row is reported and skipped while the others apply, and
// 10,000 rows cost O(n) rather than one directory validation each. The
// store validates the final tenant once more as a safety net: if that fails
// (say, another tenant took a number meanwhile) the error is returned and
// nothing changes. Numbers owned by other tenants are looked up on r before
// the write, outside the writer's lock.
func Import(ctx context.Context, r Reader, w Writer, domain string, src io.Reader) (*ImportReport, error) {
	return ImportWith(ctx, r, w, domain, src, ImportOptions{})
}

// ImportOptions tune ImportWith.
type ImportOptions struct {
	// OwnNumbersOnly makes a direct_number that is not already in the
	// tenant's inventory a row error (a tenant admin's import may not claim
	// numbers the provider has not allocated).
	OwnNumbersOnly bool
	// Progress, when set, is told how far the import is: while the file is
	// read, every progressEvery rows as they are applied, and before the
	// store saves. It runs inside the store's write, so it must not block.
	Progress func(ImportProgress)
}

// ImportProgress is how far an import is.
type ImportProgress struct {
	// Phase is "reading" (Done = rows read so far, Total unknown: 0),
	// "applying" (Done of Total rows checked and applied) or "saving".
	Phase string `json:"phase"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
}

// progressEvery is how many rows pass between two Progress calls.
const progressEvery = 500

func (o ImportOptions) progress(phase string, done, total int) {
	if o.Progress != nil {
		o.Progress(ImportProgress{Phase: phase, Done: done, Total: total})
	}
}

// ImportWith is Import with options.
func ImportWith(ctx context.Context, r Reader, w Writer, domain string, src io.Reader, o ImportOptions) (*ImportReport, error) {
	f, err := parseCSVWith(src, func(n int) { o.progress("reading", n, 0) })
	if err != nil {
		return nil, err
	}
	elsewhere, err := foreignNumbers(ctx, r, domain, f)
	if err != nil {
		return nil, err
	}
	var rep *ImportReport
	err = w.UpdateTenant(ctx, domain, func(t *Tenant) error {
		// A store may run fn again (optimistic retry): start afresh.
		im := newImporter(t, elsewhere)
		im.ownOnly = o.OwnNumbersOnly
		im.progress = func(done int) { o.progress("applying", done, len(f.rows)) }
		got, err := im.run(f)
		rep = got
		o.progress("saving", len(f.rows), len(f.rows))
		return err
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// foreignNumbers returns the direct numbers of f that another tenant owns,
// with that tenant's domain.
func foreignNumbers(ctx context.Context, r Reader, domain string, f *csvFile) (map[string]string, error) {
	out := map[string]string{}
	if !f.has[colDirectNumber] {
		return out, nil
	}
	for i := range f.rows {
		n := f.rows[i].cell(colDirectNumber)
		if !e164Pattern.MatchString(n) {
			continue
		}
		v, err := r.TenantByNumber(ctx, n)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("import: owner of %s: %w", n, err)
		case !strings.EqualFold(v.Tenant.Domain, domain):
			out[n] = v.Tenant.Domain
		}
	}
	return out, nil
}
