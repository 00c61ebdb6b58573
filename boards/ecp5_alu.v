// yosys techmap: $alu cells onto ECP5 CCU2C carry chains that need no feed-in cell.
//
// yosys's own map (share/lattice/arith_map_ccu2c.v) puts bit 0 in the first half of the first
// CCU2C and drives its CIN with the add's carry-in, a constant. nextpnr-ecp5 starts every chain
// whose first CIN is connected with an extra feed-in CCU2C (in the fabric a slice's carry input is
// its neighbour's carry output), so each add costs one CCU2C more than yosys reports: in a fully
// pipelined design, where every add is its own registered chain of 3-4 CCU2Cs, that is about a
// third of the carry logic (digits MLP, 1.4 bits: 7,059 CCU2C after yosys, 22,927 LUT4 sites
// placed against 14,893 counted).
//
// This map starts each chain with a Pass half instead: propagate 0 and generate = the constant
// carry-in, so nothing reads CIN; `boards.chain_starts` then disconnects it and nextpnr adds no
// feed-in. Bit k sits in half k + 1, so a Y-bit add takes ceil((Y + 1) / 2) CCU2Cs: for odd Y the
// same as yosys's map, without the feed-in; for even Y one half more, the same total.
//
// Falls back to yosys's map (_TECHMAP_FAIL_) where that one applies differently: adds of at most
// 4 bits (yosys maps those to LUTs) and a carry-in that is not constant. Proven equal to yosys's
// own mapping with the CCU2C simulation model in tests/test_ecp5_alu.py.

(* techmap_celltype = "$alu" *)
module _80_hbnn_ccu2c_alu (A, B, CI, BI, X, Y, CO);
	parameter A_SIGNED = 0;
	parameter B_SIGNED = 0;
	parameter A_WIDTH = 1;
	parameter B_WIDTH = 1;
	parameter Y_WIDTH = 1;
	parameter _TECHMAP_CONSTMSK_CI_ = 0;
	parameter _TECHMAP_CONSTVAL_CI_ = 0;

	(* force_downto *)
	input [A_WIDTH-1:0] A;
	(* force_downto *)
	input [B_WIDTH-1:0] B;
	(* force_downto *)
	output [Y_WIDTH-1:0] X, Y;

	input CI, BI;
	(* force_downto *)
	output [Y_WIDTH-1:0] CO;

	wire _TECHMAP_FAIL_ = Y_WIDTH <= 4 || _TECHMAP_CONSTMSK_CI_ != 1;

	(* force_downto *)
	wire [Y_WIDTH-1:0] A_buf, B_buf;
	\$pos #(.A_SIGNED(A_SIGNED), .A_WIDTH(A_WIDTH), .Y_WIDTH(Y_WIDTH)) A_conv (.A(A), .Y(A_buf));
	\$pos #(.A_SIGNED(B_SIGNED), .A_WIDTH(B_WIDTH), .Y_WIDTH(Y_WIDTH)) B_conv (.A(B), .Y(B_buf));

	// halves: 0 = Pass (generate = CI), k + 1 = bit k; CCU2C j holds halves 2j and 2j + 1
	localparam CELLS = (Y_WIDTH + 2) / 2;
	localparam HALVES = 2 * CELLS;

	(* force_downto *)
	wire [HALVES-1:0] AA = {A_buf, 1'b0};
	(* force_downto *)
	wire [HALVES-1:0] BX = {B_buf, 1'b0};
	(* force_downto *)
	wire [Y_WIDTH-1:0] BB = BI ? ~B_buf : B_buf;
	(* force_downto *)
	wire [HALVES-1:0] S;
	(* force_downto *)
	wire [CELLS-1:0] FCO;

	// the Pass half: INIT bits 15:8 (read with D = 1) are 0, so P = 0 and COUT = G = INIT[3:0]
	localparam [15:0] PASS = _TECHMAP_CONSTVAL_CI_ ? 16'h000F : 16'h0000;
	localparam [15:0] BIT = 16'b1001011010101010;   // P = A ^ B ^ C (C = BI), G = A: yosys's own

	genvar j;
	generate for (j = 0; j < CELLS; j = j + 1) begin:slice
		CCU2C #(
			.INIT0(j == 0 ? PASS : BIT),
			.INIT1(BIT),
			.INJECT1_0("NO"),
			.INJECT1_1("NO")
		) ccu2c_i (
			.CIN(j == 0 ? 1'b0 : FCO[j == 0 ? 0 : j - 1]),
			.A0(AA[2 * j]), .B0(BX[2 * j]), .C0(j == 0 ? 1'b0 : BI), .D0(1'b1),
			.A1(AA[2 * j + 1]), .B1(BX[2 * j + 1]), .C1(BI), .D1(1'b1),
			.S0(S[2 * j]), .S1(S[2 * j + 1]),
			.COUT(FCO[j])
		);
	end endgenerate

	assign Y = S[Y_WIDTH:1];

	// carry out of bit k: the chain's COUT where bit k ends a CCU2C (k even), else from bit k - 1's
	genvar k;
	generate for (k = 0; k < Y_WIDTH; k = k + 1) begin:carry
		if (k % 2 == 0)
			assign CO[k] = FCO[k / 2];
		else
			assign CO[k] = (A_buf[k] && BB[k]) || (CO[k - 1] && (A_buf[k] || BB[k]));
	end endgenerate

	assign X = A_buf ^ BB;
endmodule
