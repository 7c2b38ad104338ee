//! Know-your-rights pages in English (`/rights`) and Spanish (`/derechos`): what an
//! immigration "warrant" is and is not, and what anyone may refuse. Static text written
//! from the sources it names; general information, not legal advice.
use super::page::shell;

/// The English page.
pub fn english() -> String {
    shell("en", "Know your rights", EN)
}

/// The Spanish page.
pub fn spanish() -> String {
    shell("es", "Conozca sus derechos", ES)
}

const EN: &str = r#"<h1>Know your rights</h1>
<p>This is general information for everyone, whatever their immigration status. It is not
legal advice. For advice about your situation, talk to a lawyer.</p>

<h2>Two kinds of "warrant"</h2>
<p>A <strong>judicial warrant</strong> is signed by a judge or magistrate, after a court
found probable cause. It names a court at the top and has a judge's signature at the
bottom.</p>
<p>An <strong>administrative immigration warrant</strong> is signed by an officer of the
Department of Homeland Security, not by a judge. The usual forms are the
<strong>I-200</strong> ("Warrant for Arrest of Alien") and the <strong>I-205</strong>
("Warrant of Removal/Deportation"). An immigration <strong>detainer</strong> (form I-247A)
is also not signed by a judge. These papers do not allow officers to enter a home or
other private space.</p>

<h2>You do not have to open the door</h2>
<p>No one has to open their door to immigration officers unless they show a
<strong>judicial warrant signed by a judge</strong> that names the address. You can ask
them to slide the paper under the door or hold it to a window, and check who signed it.
An I-200 or I-205 is not enough to come in.</p>

<h2>You have the right to remain silent</h2>
<p>You do not have to answer questions about where you were born, your immigration
status, or how you came to the United States. You can say: "I choose to remain silent."</p>

<h2>You have the right to a lawyer</h2>
<p>You can say: "I want to speak with a lawyer." In immigration court you may have a
lawyer, but the government does not pay for one; ask a legal aid organization for free
help.</p>

<h2>You do not have to sign anything</h2>
<p>Do not sign any paper you do not understand or that a lawyer has not read. Signing can
give up your right to see a judge.</p>

<h2>What the law here says</h2>
<p>The sanctuary laws listed below limit what local police may do for immigration
agents. In Chicago and in Illinois, police may not arrest or hold anyone because of an
administrative warrant or a detainer, and may not share data for civil immigration
enforcement. Every request for the city's data goes through this system, which refuses
such requests and records each refusal in a public log.</p>

<h2>Sources</h2>
<ul>
<li>Chicago Welcoming City Ordinance, Municipal Code 2-173-020 and 2-173-030.</li>
<li>Illinois TRUST Act, 5 ILCS 805 (a "civil immigration warrant" is any document not
approved or ordered by a judge, including forms I-200, I-203, I-205 and I-286).</li>
<li>California Values Act, Government Code 7284.6.</li>
<li>8 CFR 241.2 (warrants of removal, I-205) and 8 CFR 287.7 (detainers, I-247A).</li>
<li>Chicago Police Department Special Order S06-14-03 (administrative warrants are the
I-200, the I-205 and NCIC Immigration Violator File hits).</li>
<li>U.S. Constitution, Fourth Amendment (no entry into a home without a judicial warrant,
unless someone inside agrees or there is an emergency) and Fifth Amendment (the right to remain silent); 8 U.S.C. 1362 (the right to a lawyer
in removal proceedings, at no expense to the government).</li>
<li>Immigrant Legal Resource Center, advisories on detainers and administrative
warrants.</li>
</ul>"#;

const ES: &str = r#"<h1>Conozca sus derechos</h1>
<p>Esta es información general para todas las personas, sin importar su estatus
migratorio. No es asesoría legal. Para consejos sobre su caso, hable con un abogado.</p>

<h2>Dos tipos de "orden"</h2>
<p>Una <strong>orden judicial</strong> está firmada por un juez o magistrado, después de
que un tribunal encontró causa probable. Lleva el nombre de un tribunal arriba y la firma
de un juez abajo.</p>
<p>Una <strong>orden administrativa de inmigración</strong> está firmada por un agente del
Departamento de Seguridad Nacional (DHS), no por un juez. Los formularios comunes son el
<strong>I-200</strong> ("Orden de arresto de extranjero") y el <strong>I-205</strong>
("Orden de expulsión/deportación"). Una <strong>solicitud de detención</strong>
(formulario I-247A) tampoco está firmada por un juez. Estos papeles no permiten a los
agentes entrar en una casa ni en otro espacio privado.</p>

<h2>No tiene que abrir la puerta</h2>
<p>Nadie tiene que abrir la puerta a agentes de inmigración a menos que muestren una
<strong>orden judicial firmada por un juez</strong> con esa dirección. Puede pedirles que
pasen el papel por debajo de la puerta o lo muestren por una ventana, y revisar quién lo
firmó. Un I-200 o un I-205 no basta para entrar.</p>

<h2>Tiene derecho a guardar silencio</h2>
<p>No tiene que contestar preguntas sobre dónde nació, su estatus migratorio ni cómo llegó
a los Estados Unidos. Puede decir: "Elijo guardar silencio."</p>

<h2>Tiene derecho a un abogado</h2>
<p>Puede decir: "Quiero hablar con un abogado." En la corte de inmigración puede tener un
abogado, pero el gobierno no lo paga; pida ayuda gratuita a una organización de ayuda
legal.</p>

<h2>No tiene que firmar nada</h2>
<p>No firme ningún papel que no entienda o que un abogado no haya leído. Al firmar podría
renunciar a su derecho a ver a un juez.</p>

<h2>Lo que dice la ley aquí</h2>
<p>Las leyes santuario de la lista de abajo limitan lo que la policía local puede hacer
por los agentes de inmigración. En Chicago y en Illinois, la policía no puede arrestar ni
detener a nadie por una orden administrativa o una solicitud de detención, ni compartir
datos para la aplicación civil de las leyes de inmigración. Toda solicitud de datos de la
ciudad pasa por este sistema, que rechaza esas solicitudes y anota cada rechazo en un
registro público.</p>

<h2>Fuentes</h2>
<ul>
<li>Ordenanza de Ciudad Acogedora de Chicago, Código Municipal 2-173-020 y 2-173-030.</li>
<li>Ley TRUST de Illinois, 5 ILCS 805 (una "orden civil de inmigración" es cualquier
documento no aprobado ni ordenado por un juez, incluidos los formularios I-200, I-203,
I-205 e I-286).</li>
<li>Ley de Valores de California, Código de Gobierno 7284.6.</li>
<li>8 CFR 241.2 (órdenes de expulsión, I-205) y 8 CFR 287.7 (solicitudes de detención,
I-247A).</li>
<li>Orden Especial S06-14-03 del Departamento de Policía de Chicago (las órdenes
administrativas son el I-200, el I-205 y los avisos del archivo de infractores de
inmigración de NCIC).</li>
<li>Constitución de los EE. UU., Cuarta Enmienda (no se entra a una casa sin orden
judicial, salvo que alguien adentro lo permita o haya una emergencia) y Quinta Enmienda (derecho a guardar silencio); 8 U.S.C. 1362 (derecho a un
abogado en procesos de expulsión, sin costo para el gobierno).</li>
<li>Immigrant Legal Resource Center, avisos sobre solicitudes de detención y órdenes
administrativas.</li>
</ul>"#;
