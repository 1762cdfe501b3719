"""Built-in wording, usable as it is; a clinic's own MessageTemplate replaces one kind and language."""

from apps.notifications.models import TemplateKind

DEFAULT_TEMPLATES = {
    "es": {
        TemplateKind.REMINDER: (
            "Hola, {patient_first_name}. Le recordamos su cita en {clinic} el {date} a las {time} con {provider}. "
            "¿Nos confirma su asistencia?"
        ),
        TemplateKind.CONFIRMED: "¡Gracias, {patient_first_name}! Su cita del {date} a las {time} quedó confirmada. "
                                "Lo esperamos en {clinic}.",
        TemplateKind.CANCELLED: "Listo, {patient_first_name}: cancelamos su cita del {date} a las {time}. "
                                "Si desea una nueva cita, escríbanos por aquí.",
        TemplateKind.OPTED_OUT: "No le enviaremos más mensajes por WhatsApp. Si cambia de opinión, responda START.",
        TemplateKind.OPTED_IN: "¡Bienvenido de nuevo! Volverá a recibir nuestros recordatorios por WhatsApp.",
        TemplateKind.BUTTON_CONFIRM: "Confirmar",
        TemplateKind.BUTTON_CANCEL: "Cancelar cita",
        TemplateKind.BUTTON_CALLBACK: "Llámenme",
        TemplateKind.BOOKED: "Hola, {patient_first_name}. Su cita en {clinic} quedó agendada para el {date} a las "
                             "{time} con {provider}. Le enviaremos un recordatorio antes.",
        TemplateKind.MOVED: "Hola, {patient_first_name}. Su cita en {clinic} cambió de hora: ahora es el {date} a las "
                            "{time} con {provider}.",
        TemplateKind.CANCELLED_BY_STAFF: "Hola, {patient_first_name}. Su cita en {clinic} del {date} a las {time} "
                                         "fue cancelada. Escríbanos por aquí para agendar una nueva.",
        TemplateKind.CALLBACK: "Entendido, {patient_first_name}. Lo llamaremos pronto desde {clinic} para hablar de "
                               "su cita del {date} a las {time}.",
        TemplateKind.ORDER_READY: "Hola {patient_first_name}, tu pedido {order} ya está listo en {clinic}. "
                                  "Saldo pendiente: {balance_due}. Horario: {opening_hours}. ¡Te esperamos!",
        TemplateKind.RECALL: "Hola {patient_first_name}, ya es momento de tu control en {clinic}. "
                             "¿Quieres agendar una cita?",
        TemplateKind.BUTTON_BOOK: "Agendar cita",
    },
    "en": {
        TemplateKind.REMINDER: (
            "Hello {patient_first_name}, this is a reminder of your appointment at {clinic} on {date} at {time} "
            "with {provider}. Can you confirm you will come?"
        ),
        TemplateKind.CONFIRMED: "Thank you, {patient_first_name}! Your appointment on {date} at {time} is confirmed. "
                                "See you at {clinic}.",
        TemplateKind.CANCELLED: "Done, {patient_first_name}: your appointment on {date} at {time} is cancelled. "
                                "Write to us here to book a new one.",
        TemplateKind.OPTED_OUT: "We will not send you more WhatsApp messages. If you change your mind, reply START.",
        TemplateKind.OPTED_IN: "Welcome back! You will receive our WhatsApp reminders again.",
        TemplateKind.BUTTON_CONFIRM: "Confirm",
        TemplateKind.BUTTON_CANCEL: "Cancel appointment",
        TemplateKind.BUTTON_CALLBACK: "Call me",
        TemplateKind.BOOKED: "Hello {patient_first_name}, your appointment at {clinic} is booked for {date} at {time} "
                             "with {provider}. We will send you a reminder before.",
        TemplateKind.MOVED: "Hello {patient_first_name}, your appointment at {clinic} has a new time: {date} at {time} "
                            "with {provider}.",
        TemplateKind.CANCELLED_BY_STAFF: "Hello {patient_first_name}, your appointment at {clinic} on {date} at "
                                         "{time} was cancelled. Write to us here to book a new one.",
        TemplateKind.CALLBACK: "Understood, {patient_first_name}. {clinic} will call you soon about your "
                               "appointment on {date} at {time}.",
        TemplateKind.ORDER_READY: "Hello {patient_first_name}, your order {order} is ready at {clinic}. "
                                  "Balance due: {balance_due}. Opening hours: {opening_hours}. See you soon!",
        TemplateKind.RECALL: "Hello {patient_first_name}, it is time for your check-up at {clinic}. "
                             "Would you like to book an appointment?",
        TemplateKind.BUTTON_BOOK: "Book",
    },
}

# Quiet from 20:00 to 08:00, closed on Sundays: reminders go out in office hours.
DEFAULT_QUIET_START = "20:00"
DEFAULT_QUIET_END = "08:00"
DEFAULT_CLOSED_DAYS = [6]
DEFAULT_RULES = [{"lead_hours": 24, "skip_within_hours": 2}]

STOP_WORDS = {"stop", "baja", "parar", "detener", "cancelar suscripcion", "unsubscribe"}
START_WORDS = {"start", "alta", "iniciar", "reanudar"}
